// Core, the end of a delivery round: retry with back-off, expiry at the end of the
// lifetime, the message leaving the queue, and the notices that go with it.
// RFC 5321 6.2/3.6.3: never a notice about a message with the null sender, except our
// own bounce failing, which goes to postmaster once (as a double bounce, itself with the
// null sender and protocol "double-bounce") and then is dropped. "Our own" is the
// origin intake vouches for (common/spool/origin.hpp), which no submitter can forge.
// RFC 3461 4.1: a recipient's NOTIFY decides which notices it gets: none with NEVER,
// failures only with FAILURE, delays only with DELAY, and a success notice with SUCCESS;
// without NOTIFY, failures and (when configured) delays.
#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/dsn.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

namespace log = common::log;

// A message deleted by the administrator while it was in flight: gone, without notices.
void Core::remove_deleted(Message* m) {
  for (auto& rc : m->rcpts)
    if (rc.state == RcptState::kPending) rc.state = RcptState::kDone;
  if (auto st = host_.unlink(m->id); !st)
    log::error("%s: cannot remove queue file: %s", m->id.c_str(), st.message().c_str());
  if (m->has_record) host_.state_erase(m->id);
  removals_dirty_ = true;
  log::info("%s: deleted by the administrator", m->id.c_str());
  drop(m);
  host_.request_commit();
}

// A delivery round is over for `m`: nothing of it is in flight any more.
void Core::end_round(Message* m, std::int64_t now) {
  if (m->doomed) return remove_deleted(m);
  bool waited = m->waiting_mask != 0, deferred = m->round_deferred;
  m->waiting_mask = 0;
  m->round_deferred = false;
  if (waited && !deferred && !m->finished()) {
    // What is left waited for an agent rather than failed: try again now (it goes
    // back to the waiting list if there is still no agent).
    queue_.make_ready(m);
    host_.request_dispatch();
    return;
  }
  std::vector<std::size_t> expired;
  RoundEnd r = qmgr::end_round(*m, s_.retry, now, &expired);
  // Recipients of a relay domain with a shorter lifetime can expire while others wait:
  // they are returned with the rest when the message leaves the queue.
  for (auto i : expired) {
    const auto& rc = m->rcpts[i];
    common::maillog::bounced(m->id, rc.address, "none", static_cast<double>(now - m->arrival), rc.text);
  }
  if (r == RoundEnd::kDeferred) {
    m->agent_crashes = 0;
    maybe_warn_delay(m, now);
    m->has_record = true;
    host_.state_put(*m);
    queue_.defer(m);
    wake(now);
    host_.request_commit();
    return;
  }
  complete(m, now);
}

// Every recipient is done or failed: the message leaves the queue.
void Core::complete(Message* m, std::int64_t now) {
  // The notice is linked before the original goes; one sync covers both.
  notify_failures(m, now);
  notify_success(m, now);
  if (m->has_record) {
    // The record goes after the file: a crash in between leaves a record without a file,
    // which recovery discards; the other order could re-deliver to everyone.
    if (auto st = host_.unlink(m->id); !st)
      log::error("%s: cannot remove queue file: %s", m->id.c_str(), st.message().c_str());
    host_.state_erase(m->id);
    removals_dirty_ = true;
  } else {
    host_.unlink_later(m->id);
  }
  common::maillog::removed(m->id);
  drop(m);
  host_.request_commit();
}

// The NOTIFY bits of m's recipients (read from its file only when it asked for some).
std::vector<std::uint8_t> Core::notify_bits(Message* m) {
  if (m->dsn == Message::Dsn::kNone) return {};
  auto bits = host_.dsn_notify(*m);
  if (bits.size() != m->rcpts.size()) bits.clear();
  return bits;
}

namespace {
// Whether recipient i wants a notice of kind `bit`; `dflt` without NOTIFY.
bool wants(const std::vector<std::uint8_t>& bits, std::size_t i, std::uint8_t bit, bool dflt) {
  if (i >= bits.size() || bits[i] == 0) return dflt;
  return (bits[i] & bit) != 0;
}
}  // namespace

void Core::notify_failures(Message* m, std::int64_t now) {
  std::vector<const Rcpt*> failed;
  std::vector<std::uint8_t> bits;
  bool read = false, skipped = false;
  for (std::size_t i = 0; i < m->rcpts.size(); ++i) {
    const auto& r = m->rcpts[i];
    if (r.state != RcptState::kFailed) continue;
    if (!read) bits = notify_bits(m), read = true;
    if (wants(bits, i, common::mail::kNotifyFailure, true))
      failed.push_back(&r);
    else
      skipped = true;
  }
  if (skipped)
    log::info("%s: no non-delivery notice for recipients whose NOTIFY excludes FAILURE", m->id.c_str());
  if (failed.empty()) return;
  if (!m->sender.empty())
    return notice(*m, NoticeKind::kFailed, failed, m->sender, common::spool::kProtocolBounce, now);
  if (m->origin() == common::spool::Origin::kQueueManager && m->protocol == common::spool::kProtocolBounce) {
    log::warn("%s: undeliverable bounce; a copy goes to %s", m->id.c_str(), s_.postmaster.c_str());
    return notice(*m, NoticeKind::kFailed, failed, s_.postmaster, common::spool::kProtocolDoubleBounce, now);
  }
  log::info("%s: no notice for a message with the null sender", m->id.c_str());
}

// At most one delay warning per message (`warned` is part of its state record).
void Core::maybe_warn_delay(Message* m, std::int64_t now) {
  if (s_.delay_warning_time <= 0 || m->warned || m->sender.empty()) return;
  if (now - m->arrival < s_.delay_warning_time) return;
  std::vector<const Rcpt*> pending;
  std::vector<std::uint8_t> bits = notify_bits(m);
  for (std::size_t i = 0; i < m->rcpts.size(); ++i)
    if (m->rcpts[i].state == RcptState::kPending && wants(bits, i, common::mail::kNotifyDelay, true))
      pending.push_back(&m->rcpts[i]);
  m->warned = true;  // decided once, whether or not anyone wanted it
  if (pending.empty()) return;
  notice(*m, NoticeKind::kDelayed, pending, m->sender, common::spool::kProtocolBounce, now);
}

// RFC 3461 4.1: NOTIFY=SUCCESS asks for a notice once the recipient is delivered here,
// or relayed onwards to a server without DSN ("relayed", 5.2.2). A server that offers
// DSN got the request passed on and answers it itself (5.2.1): no notice from us.
void Core::notify_success(Message* m, std::int64_t now) {
  if (m->sender.empty() || m->dsn == Message::Dsn::kNone) return;
  std::vector<const Rcpt*> done;
  std::vector<std::uint8_t> bits = notify_bits(m);
  bool passed = false;
  for (std::size_t i = 0; i < m->rcpts.size(); ++i) {
    if (m->rcpts[i].state != RcptState::kDone || !wants(bits, i, common::mail::kNotifySuccess, false))
      continue;
    if (m->rcpts[i].dsn_passed)
      passed = true;
    else
      done.push_back(&m->rcpts[i]);
  }
  if (passed)
    log::info("%s: no success notice for recipients whose next hop took the DSN request on", m->id.c_str());
  if (!done.empty()) notice(*m, NoticeKind::kDelivered, done, m->sender, common::spool::kProtocolBounce, now);
}

void Core::notice(const Message& m, NoticeKind kind, const std::vector<const Rcpt*>& rcpts,
                  const std::string& to, const std::string& protocol, std::int64_t now) {
  auto n = host_.write_notice(m, kind, rcpts, to, protocol, now, m.arrival + s_.retry.lifetime);
  if (!n) return;
  linked(kInternal, 0, std::move(n));
}

}  // namespace qmgr
