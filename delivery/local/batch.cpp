// The local agent's group commit (see batch.hpp, and batch_job.hpp for how its work is
// split): the order of the steps, each recipient's resolution and the answers.
#include "delivery/local/batch.hpp"

#include <time.h>
#include <unistd.h>

#include <optional>

#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/ascii.hpp"
#include "common/spool/queue_file.hpp"
#include "delivery/local/batch_job.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

using common::mail::lower;
namespace {

namespace ipc = common::ipc;
namespace log = common::log;
using common::mail::Verdict;

// Does a message of `size` fit a mailbox using `used` of `quota` bytes? Within the quota,
// or - like Dovecot's default quota_grace of 10 % - as the last message that takes a
// mailbox under its quota to at most 10 % over it (so that a nearly full mailbox does
// become full, and smtpd then refuses at RCPT).
bool fits_quota(std::int64_t used, std::int64_t size, std::int64_t quota) {
  if (used + size <= quota) return true;
  return used < quota && used + size <= quota + quota / 10;
}

// The Return-Path line carries the sender verbatim: anything that could break the line
// means a damaged request, never a header to write.
bool header_safe(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

double now_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

void append_done(Slot& s, const std::string& what) {
  if (!s.done.empty()) s.done += ", ";
  s.done += what;
}

std::vector<ipc::DeliverDone> BatchDeliverer::deliver(std::vector<Request>& batch) {
  std::optional<std::vector<ipc::DeliverDone>> out;
  deliver(std::move(batch), [&out](std::vector<ipc::DeliverDone> answers) { out = std::move(answers); });
  batch.clear();
  MB_CHECK(out.has_value(), "deliver(batch) needs a Submitter that answers before it returns");
  return std::move(*out);
}

void BatchDeliverer::deliver(std::vector<Request> batch, Finish finish) {
  // The batch keeps itself alive (shared_from_this) while its submissions are out.
  std::make_shared<Batch>(std::move(batch), *this)->start(std::move(finish));
}

Batch::Batch(std::vector<Request> reqs, BatchDeliverer& owner)
    : reqs_(std::move(reqs)),
      owner_(owner),
      recipients_(owner.recipients()),
      names_(owner.names()),
      policy_(owner.policy()),
      now_(::time(nullptr)) {}

Batch::~Batch() {
  if (completed_) return;
  for (auto& it : items_)
    if (!it.draft.in_new) discard_draft(*it.md, it.draft);
}

void Batch::start(BatchDeliverer::Finish finish) {
  finish_ = std::move(finish);
  info_.resize(reqs_.size());
  for (std::size_t i = 0; i < reqs_.size(); ++i) write_request(i);
  write_outgoing_all();
  sync_files();
  // The new messages are queued before any Maildir file is published: a crash in
  // between leaves a retry that finds nothing delivered and nothing twice in the queue
  // it cannot tell apart (check_duplicates in ipc::Deliver).
  if (!submit_all()) complete();
}

void Batch::complete() {
  publish_files();
  sync_directories();
  for (auto& it : items_)
    if (slots_[it.slot].verdict) discard_draft(*it.md, it.draft);
  after_delivery();
  completed_ = true;
  auto finish = std::move(finish_);
  finish(answers());
}

void Batch::fail(std::size_t slot, Verdict v) {
  if (!slots_[slot].verdict) slots_[slot].verdict = std::move(v);
}

void Batch::write_request(std::size_t i) {
  const ipc::Deliver& d = reqs_[i].msg;
  std::size_t first = slots_.size();
  for (std::size_t j = 0; j < d.recipients.size(); ++j) slots_.push_back(Slot{i, j, {}, {}});
  auto msg = check_message(reqs_[i].fd.get(), d);
  std::optional<Verdict> all;
  if (!msg) {
    log::error("%s: bad delivery request: %s", log::printable(d.queue_id, 40).c_str(), msg.message().c_str());
    all = temporary("4.3.0", "bad delivery request: " + msg.message());
  } else if (!header_safe(d.sender)) {
    log::error("%s: bad delivery request: control character in sender",
               log::printable(d.queue_id, 40).c_str());
    all = temporary("4.3.0", "bad delivery request: control character in sender");
  } else {
    info_[i].msg = *msg;
    auto h = read_headers(*msg);
    if (!h) {
      log::error("%s: reading the header block: %s", d.queue_id.c_str(), h.message().c_str());
      all = io_failure(h.status().err(), "cannot read the message: " + h.message());
    } else {
      info_[i].headers = std::move(*h);
      // RFC 5321 6.3: a message that has passed this many hops is in a loop.
      std::size_t hops = info_[i].headers.count("received");
      if (hops > kMaxReceived)
        all = permanent("5.4.6",
                        "too many hops (" + std::to_string(hops) + " Received header fields): mail loop?");
      for (auto v : info_[i].headers.all("delivered-to")) info_[i].marks.insert(lower(std::string(v)));
      // The junk verdict is the server's, in the envelope (validated by the queue
      // manager); it only chooses a folder. Unreadable: the inbox, like ordinary mail.
      auto env = common::spool::read_envelope(reqs_[i].fd.get());
      info_[i].junk = env && env->env.junk;
    }
  }
  for (std::size_t s = first; s < slots_.size(); ++s) {
    if (all) {
      fail(s, *all);
      continue;
    }
    deliver_slot(s);
  }
}

void Batch::deliver_slot(std::size_t s) {
  const std::size_t i = slots_[s].req;
  const ipc::Deliver& d = reqs_[i].msg;
  const ReqInfo& ri = info_[i];
  Resolution r = recipients_.expand(d.recipients[slots_[s].rcpt], ri.marks, now_);
  if (r.failure) return fail(s, *r.failure);
  std::string headers;
  QuotaState* qs = nullptr;
  if (r.mailbox && r.mailbox->store) {
    const Mailbox& mb = *r.mailbox;
    // The domain's own limit on message size (mailctl domain set max-size).
    if (mb.max_message_size > 0 && ri.msg->size > static_cast<std::uint64_t>(mb.max_message_size))
      return fail(s, permanent("5.3.4", "message larger than the " + std::to_string(mb.max_message_size) +
                                            " bytes the domain accepts"));
    headers = delivery_headers(d.sender, mb.address, d.recipients[slots_[s].rcpt]);
    if (mb.quota > 0) {
      common::Status err;
      qs = quota_state(mb, i, &err);
      if (!qs) return fail(s, io_failure(err.err(), "cannot read the mailbox quota: " + err.message()));
      std::int64_t size = static_cast<std::int64_t>(headers.size() + ri.msg->size);
      // Our own quota warning always fits: it is what tells the user to make room.
      if (!fits_quota(qs->usage.bytes, size, mb.quota) && !is_quota_warning(i)) {
        owner_.update_full_flag(lower(mb.address), qs->usage.bytes, mb.quota, now_);
        std::string why = "mailbox full (" + std::to_string(qs->usage.bytes) + " of " +
                          std::to_string(mb.quota) + " bytes used, message " + std::to_string(size) + ")";
        // RFC 3463 3.3: X.2.2 mailbox full, persistent or transient as configured.
        return fail(s, policy_.quota_bounce ? permanent("5.2.2", why) : temporary("4.2.2", why));
      }
    }
  }
  std::string tag = delivery_tag(d.queue_id, d.recipients[slots_[s].rcpt]);
  if (r.mailbox && r.mailbox->store && d.check_duplicates) {
    // An earlier attempt may have got this far without its verdict reaching the queue
    // manager (a crash): its file in the Maildir says so. The messages it sent on were
    // queued before that file was published, so they are not sent again either.
    common::Status err;
    Maildir* m = target(*r.mailbox, ri.junk, &err);
    auto found = m ? m->holds(tag) : common::Result<bool>(err);
    if (found && *found) {
      log::info("%s: %s: found in the Maildir from an earlier attempt; not delivered again",
                d.queue_id.c_str(), log::printable(d.recipients[slots_[s].rcpt]).c_str());
      append_done(slots_[s], "delivered to maildir (by an earlier attempt)");
      return;
    }
  }
  add_forwards(s, r);
  if (r.mailbox && r.mailbox->store) {
    const Mailbox& mb = *r.mailbox;
    common::Status err;
    Maildir* m = target(mb, ri.junk, &err);
    if (!m) {
      log::error("%s: %s", d.queue_id.c_str(), err.message().c_str());
      return fail(s, io_failure(err.err(), "cannot open mailbox: " + err.message()));
    }
    auto draft = write_draft(*m, names_, headers, *ri.msg, tag);
    if (!draft) {
      log::error("%s: %s", d.queue_id.c_str(), draft.message().c_str());
      return fail(s, io_failure(draft.status().err(), "cannot write mailbox: " + draft.message()));
    }
    if (open_drafts_ >= BatchDeliverer::kMaxOpenDrafts)
      draft->fd.reset();
    else
      ++open_drafts_;
    std::int64_t size = static_cast<std::int64_t>(draft->size);
    items_.push_back(Item{s, m, mb.path, std::move(*draft), lower(mb.address), mb.quota});
    append_done(slots_[s],
                m->path() == mb.path ? "delivered to maildir" : "delivered to maildir folder Junk");
    if (qs) {
      qs->usage.bytes += size;
      qs->usage.count += 1;
      add_quota_warning(s, mb, *qs);
    }
  }
  if (r.mailbox && r.mailbox->autoreply.enabled) add_autoreply(s, *r.mailbox);
}

// Was this message written by this agent as a quota warning (origin kLocalAgent,
// client kClientQuotaWarning)?
bool Batch::is_quota_warning(std::size_t i) {
  // The queue manager says whether this agent wrote the file (its labels alone could
  // come from any submitter); the client label says which of its messages it is.
  const ipc::Deliver& d = reqs_[i].msg;
  if (!d.sender.empty() || d.origin != common::spool::Origin::kLocalAgent) return false;
  auto env = common::spool::read_envelope(reqs_[i].fd.get());
  return env && env->env.protocol == "local" && env->env.client == kClientQuotaWarning;
}

std::vector<ipc::DeliverDone> Batch::answers() {
  std::vector<ipc::DeliverDone> out(reqs_.size());
  for (std::size_t i = 0; i < reqs_.size(); ++i) {
    out[i].delivery_id = reqs_[i].msg.delivery_id;
    out[i].results.resize(reqs_[i].msg.recipients.size());
  }
  double now = now_seconds();
  for (auto& s : slots_) {
    const ipc::Deliver& d = reqs_[s.req].msg;
    Verdict v = s.verdict ? *s.verdict : ok(s.done.empty() ? "delivered" : s.done);
    const std::string& rcpt = d.recipients[s.rcpt];
    double delay = now - static_cast<double>(d.arrival);
    if (delay < 0 || d.arrival <= 0) delay = 0;
    std::string detail = v.outcome == common::mail::Outcome::kOk ? v.text : v.status + " " + v.text;
    switch (v.outcome) {
      case common::mail::Outcome::kOk:
        common::maillog::delivered(d.queue_id, rcpt, "local", delay, detail);
        break;
      case common::mail::Outcome::kTemporary:
        common::maillog::deferred(d.queue_id, rcpt, "local", delay, detail);
        break;
      case common::mail::Outcome::kPermanent:
        common::maillog::bounced(d.queue_id, rcpt, "local", delay, detail);
        break;
    }
    out[s.req].results[s.rcpt] = std::move(v);
  }
  return out;
}

}  // namespace delivery::local
