// Core, the end of a delivery round: retry with back-off, expiry at the end of the
// lifetime, the message leaving the queue, and the notices that go with it.
// RFC 5321 6.2/3.6.3: never a notice about a message with the null sender, except our
// own bounce failing, which goes to postmaster once (as a double bounce, itself with the
// null sender and protocol "double-bounce") and then is dropped. "Our own" is the
// origin intake vouches for (common/spool/origin.hpp), which no submitter can forge.
#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
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
  RoundEnd r = qmgr::end_round(*m, s_.retry, now);
  if (r == RoundEnd::kExpired) {
    for (const auto& rc : m->rcpts)
      if (rc.status == "4.4.7")
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

void Core::notify_failures(Message* m, std::int64_t now) {
  std::vector<const Rcpt*> failed;
  for (const auto& r : m->rcpts)
    if (r.state == RcptState::kFailed) failed.push_back(&r);
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
  for (const auto& r : m->rcpts)
    if (r.state == RcptState::kPending) pending.push_back(&r);
  if (pending.empty()) return;
  m->warned = true;
  notice(*m, NoticeKind::kDelayed, pending, m->sender, common::spool::kProtocolBounce, now);
}

void Core::notice(const Message& m, NoticeKind kind, const std::vector<const Rcpt*>& rcpts,
                  const std::string& to, const std::string& protocol, std::int64_t now) {
  auto n = host_.write_notice(m, kind, rcpts, to, protocol, now, m.arrival + s_.retry.lifetime);
  if (!n) return;
  linked(kInternal, 0, std::move(n));
}

}  // namespace qmgr
