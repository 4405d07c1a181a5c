// New messages of the local agent's batch (see batch_job.hpp): the copies a resolution
// asks for (forwards with an SRS sender, alias fan-outs), auto-replies (RFC 3834) and
// quota warnings; each written into the drop directory, then all submitted at once. A
// copy the recipient's delivery depends on ("required") fails the recipient temporarily
// when it cannot be queued; an auto-reply or a warning that cannot is only logged.
#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"
#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/idna.hpp"
#include "common/mail/srs.hpp"
#include "delivery/local/autoreply.hpp"
#include "delivery/local/batch_job.hpp"
#include "delivery/local/notices.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

using common::mail::lower;

namespace ipc = common::ipc;
namespace log = common::log;

// The new messages a resolution asks for.
void Batch::add_forwards(std::size_t s, const Resolution& r) {
  const std::size_t i = slots_[s].req;
  const ipc::Deliver& d = reqs_[i].msg;
  auto add = [&](const std::vector<std::string>& rcpts, const std::string& sender, const char* kind) {
    auto o = std::make_unique<Outgoing>();
    o->slot = s;
    o->required = true;
    o->kind = kind;
    o->env = local_envelope(sender, rcpts, now_, d.body_8bit, d.smtputf8);
    o->head = forward_trace(policy_.hostname.empty() ? "localhost" : policy_.hostname, o->env.queue_id, rcpts,
                            r.delivered_to, now_);
    o->body = info_[i].msg;
    out_.push_back(std::move(o));
  };
  if (!r.local_targets.empty()) add(r.local_targets, d.sender, "sent on");
  if (!r.remote_targets.empty()) add(r.remote_targets, remote_sender(s, r), "forwarded");
}

// The envelope sender of a copy forwarded to other domains: rewritten with SRS, so
// that SPF checks of the original sender's domain still pass at the destination.
std::string Batch::remote_sender(std::size_t s, const Resolution& r) {
  const ipc::Deliver& d = reqs_[slots_[s].req].msg;
  if (d.sender.empty() || r.keep_sender) return d.sender;
  auto a = common::mail::parse_mailbox(d.sender, true);
  if (!a || a->domain.empty() || a->literal) return d.sender;
  // An SMTPUTF8 sender keeps its U-labels in the queue (RFC 6531 3.7); domains are
  // looked up, and named in the SRS address, in their A-label form.
  if (common::mail::has_non_ascii(a->domain)) {
    auto ascii = common::mail::domain_to_ascii(a->domain);
    if (!ascii) return d.sender;
    a->domain = std::move(*ascii);
  }
  auto local = recipients_.is_local_domain(a->domain);
  if (!local || *local) return d.sender;  // our own domains pass SPF from here anyway
  if (policy_.srs_secret.empty()) {
    log::warn("%s: no SRS secret (run mailctl init): forwarding with the original sender <%s>",
              d.queue_id.c_str(), log::printable(d.sender).c_str());
    return d.sender;
  }
  auto f = common::mail::srs::forward(policy_.srs_secret, a->local, a->domain, r.srs_domain, now_);
  if (!f) {
    log::warn("%s: no SRS for <%s>: %s; forwarding with the original sender", d.queue_id.c_str(),
              log::printable(d.sender).c_str(), f.message().c_str());
    return d.sender;
  }
  return *f;
}

void Batch::add_autoreply(std::size_t s, const Mailbox& mb) {
  const std::size_t i = slots_[s].req;
  const ipc::Deliver& d = reqs_[i].msg;
  if (!submitter()) return;
  ReplyFacts f;
  f.autoreply = &mb.autoreply;
  f.user = lower(mb.address);
  f.known_as = &mb.known_as;
  f.sender = d.sender;
  f.headers = &info_[i].headers;
  f.now = now_;
  f.delimiter = policy_.delimiter;
  if (auto why = reply_refusal(f)) {
    log::info("%s: no auto-reply from %s: %s", d.queue_id.c_str(), f.user.c_str(), why->c_str());
    return;
  }
  std::string key = f.user + " " + lower(d.sender);
  if (!replied_.insert(key).second) return;  // a second copy in this batch
  VacationLog vlog(mb.path);
  std::int64_t interval = mb.autoreply.interval_days > 0 ? mb.autoreply.interval_days : 1;
  auto recent = vlog.recently_answered(d.sender, now_, interval);
  if (!recent) {
    log::warn("%s: vacation record of %s: %s; no auto-reply", d.queue_id.c_str(), f.user.c_str(),
              recent.message().c_str());
    return;
  }
  if (*recent) {
    log::info("%s: no auto-reply from %s: <%s> already answered within %lld days", d.queue_id.c_str(),
              f.user.c_str(), log::printable(d.sender).c_str(), static_cast<long long>(interval));
    return;
  }
  auto o = std::make_unique<Outgoing>();
  o->slot = s;
  o->kind = "auto-reply";
  // RFC 3834 3.3 (and Sieve vacation, RFC 5230 5.x): the reply's return path is null,
  // so that nothing ever answers it.
  o->env = local_envelope("", {d.sender}, now_, false, d.smtputf8);
  ReplyInput in;
  in.from = mb.address;
  in.to = d.sender;
  in.subject = mb.autoreply.subject;
  in.text = mb.autoreply.text;
  in.original = &info_[i].headers;
  in.hostname = policy_.hostname.empty() ? "localhost" : policy_.hostname;
  in.new_id = o->env.queue_id;
  in.now = now_;
  o->head = compose_reply(in);
  for (unsigned char c : o->head)
    if (c >= 0x80) o->env.body_8bit = true;
  std::string path = mb.path, sender = d.sender, user = f.user, id = d.queue_id;
  std::int64_t now = now_;
  o->on_sent = [path, sender, user, id, now, interval] {
    common::Status st = VacationLog(path).record(sender, now, interval);
    if (!st)
      log::warn("%s: cannot record the auto-reply of %s: %s", id.c_str(), user.c_str(), st.message().c_str());
  };
  out_.push_back(std::move(o));
}

void Batch::add_quota_warning(std::size_t s, const Mailbox& mb, QuotaState& qs) {
  if (policy_.warning_percent <= 0 || qs.warned || !submitter()) return;
  if (qs.usage.bytes * 100 < mb.quota * policy_.warning_percent) return;
  qs.warned = true;  // once, however many messages of this batch cross the mark
  auto o = std::make_unique<Outgoing>();
  o->slot = s;
  o->kind = "quota warning";
  o->env = local_envelope("", {mb.address}, now_, false, false);
  o->env.client = kClientQuotaWarning;
  QuotaWarningInput in;
  in.user = mb.address;
  in.used = qs.usage.bytes;
  in.quota = mb.quota;
  in.percent = policy_.warning_percent;
  in.hostname = policy_.hostname.empty() ? "localhost" : policy_.hostname;
  in.new_id = o->env.queue_id;
  in.now = now_;
  o->head = compose_quota_warning(in);
  std::string marker = mb.path + "/" + kWarnedFile;
  o->on_sent = [marker] {
    common::io::UniqueFd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660));
    if (!fd) log::warn("cannot create %s: %s", marker.c_str(), std::strerror(errno));
  };
  out_.push_back(std::move(o));
}

void Batch::write_outgoing_all() {
  for (auto& o : out_) {
    if (o->slot != Outgoing::kNoSlot && slots_[o->slot].verdict) continue;
    if (!submitter()) {
      o->status = common::Status::error("this agent cannot send new messages", EIO);
    } else {
      write_outgoing(*submitter(), *o);
    }
    if (!o->status) outgoing_failed(*o);
  }
}

void Batch::outgoing_failed(Outgoing& o) {
  const std::string& id = qid(slots_[o.slot].req);
  if (o.required) {
    log::error("%s: %s to %zu address(es) not queued: %s", id.c_str(), o.kind.c_str(),
               o.env.recipients.size(), o.status.message().c_str());
    fail(o.slot, temporary("4.3.0", o.kind + " could not be queued: " + o.status.message()));
  } else {
    log::warn("%s: %s not sent: %s", id.c_str(), o.kind.c_str(), o.status.message().c_str());
  }
}

bool Batch::submit_all() {
  std::vector<Outgoing*> go;
  std::vector<common::io::UniqueFd> files;
  for (auto& o : out_)
    if (o->status && o->fd && !slots_[o->slot].verdict) {
      go.push_back(o.get());
      files.push_back(std::move(o->fd));
    }
  if (go.empty() || !submitter()) return false;
  // The loop goes on serving other deliveries meanwhile; this batch's verdicts wait.
  auto self = shared_from_this();
  submitter()->submit(std::move(files), [self, go](std::vector<common::Status> st) {
    self->submitted(go, st);
    self->complete();
  });
  return true;
}

void Batch::submitted(const std::vector<Outgoing*>& go, const std::vector<common::Status>& st) {
  for (std::size_t i = 0; i < go.size(); ++i) {
    Outgoing* o = go[i];
    o->status = i < st.size() ? st[i] : common::Status::error("no answer from the queue manager", EIO);
    o->submitted = o->status.is_ok();
    Slot& sl = slots_[o->slot];
    if (!o->submitted) {
      outgoing_failed(*o);
      continue;
    }
    log::info("%s: %s for %s queued as %s, from=<%s>, %zu recipient(s)", qid(sl.req).c_str(), o->kind.c_str(),
              log::printable(reqs_[sl.req].msg.recipients[sl.rcpt]).c_str(), o->env.queue_id.c_str(),
              log::printable(o->env.sender).c_str(), o->env.recipients.size());
    if (o->required) append_done(sl, o->kind + " as " + o->env.queue_id);
    if (o->on_sent) o->on_sent();
  }
}

}  // namespace delivery::local
