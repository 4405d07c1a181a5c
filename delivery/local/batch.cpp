// Implementation of the local agent's group commit (see batch.hpp).
#include "delivery/local/batch.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/srs.hpp"
#include "common/maildir/maildirsize.hpp"
#include "common/maildir/quota_flags.hpp"
#include "common/spool/queue_file.hpp"
#include "delivery/headers.hpp"
#include "delivery/local/autoreply.hpp"
#include "delivery/local/notices.hpp"
#include "delivery/local/outgoing.hpp"
#include "delivery/message.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

using common::mail::lower;

namespace {

namespace ipc = common::ipc;
namespace log = common::log;
namespace md = common::maildir;
using common::mail::Verdict;

// Does a message of `size` fit a mailbox using `used` of `quota` bytes? Within the quota,
// or - like Dovecot's default quota_grace of 10 % - as the last message that takes a
// mailbox under its quota to at most 10 % over it (so that a nearly full mailbox does
// become full, and smtpd then refuses at RCPT).
bool fits_quota(std::int64_t used, std::int64_t size, std::int64_t quota) {
  if (used + size <= quota) return true;
  return used < quota && used + size <= quota + quota / 10;
}

// One recipient of one request.
struct Slot {
  std::size_t req = 0, rcpt = 0;
  std::optional<Verdict> verdict;  // set once failed (or resolved to a failure)
  std::string done;                // what was done, for the log and the answer
};

// One message file being written for a slot.
struct Item {
  std::size_t slot = 0;
  Maildir* md = nullptr;
  Draft draft;
  std::string user;  // lower-case address
  std::int64_t quota = 0;
};

// Maildir++ usage of one Maildir during the batch (reservations included).
struct QuotaState {
  std::int64_t quota = 0;
  md::Usage usage;
  bool warned = false;  // the warning marker exists (or a warning goes out now)
};

// One request's own facts.
struct ReqInfo {
  std::optional<MessageRef> msg;
  Headers headers;
  std::set<std::string> marks;  // lower-cased Delivered-To values
};

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

void append_done(Slot& s, const std::string& what) {
  if (!s.done.empty()) s.done += ", ";
  s.done += what;
}

class Batch {
 public:
  Batch(std::vector<Request>& reqs, BatchDeliverer& owner)
      : reqs_(reqs),
        owner_(owner),
        resolver_(owner.resolver()),
        names_(owner.names()),
        policy_(owner.policy()),
        now_(::time(nullptr)) {}

  std::vector<ipc::DeliverDone> run() {
    info_.resize(reqs_.size());
    for (std::size_t i = 0; i < reqs_.size(); ++i) write_request(i);
    write_outgoing_all();
    sync_files();
    submit_all();
    publish_files();
    sync_directories();
    for (auto& it : items_)
      if (slots_[it.slot].verdict) discard_draft(*it.md, it.draft);
    after_delivery();
    return answers();
  }

 private:
  void fail(std::size_t slot, Verdict v) {
    if (!slots_[slot].verdict) slots_[slot].verdict = std::move(v);
  }
  const std::string& qid(std::size_t req) const { return reqs_[req].msg.queue_id; }

  Maildir* maildir(const std::string& path, common::Status* err) {
    auto it = maildirs_.find(path);
    if (it != maildirs_.end()) return it->second.get();
    auto bad = open_errors_.find(path);
    if (bad != open_errors_.end()) {
      *err = bad->second;
      return nullptr;
    }
    auto m = Maildir::open(path);
    if (!m) {
      open_errors_.emplace(path, m.status());
      *err = m.status();
      return nullptr;
    }
    auto* p = new Maildir(std::move(*m));
    maildirs_.emplace(path, std::unique_ptr<Maildir>(p));
    return p;
  }

  // The usage of a Maildir with a quota, loaded once per batch.
  QuotaState* quota_state(const Mailbox& mb, std::size_t req, common::Status* err) {
    auto it = quotas_.find(mb.path);
    if (it != quotas_.end()) return &it->second;
    // A first delivery creates the Maildir now, so that maildirsize can be written.
    if (!maildir(mb.path, err)) return nullptr;
    md::QuotaDef def{static_cast<std::uint64_t>(mb.quota), 0};
    auto u = md::read_usage(mb.path, def, {true, now_});
    if (!u) {
      log::error("%s: quota of %s: %s", qid(req).c_str(), mb.address.c_str(), u.message().c_str());
      *err = u.status();
      return nullptr;
    }
    QuotaState q;
    q.quota = mb.quota;
    q.usage = u->usage;
    q.warned = ::access((mb.path + "/" + kWarnedFile).c_str(), F_OK) == 0;
    return &quotas_.emplace(mb.path, q).first->second;
  }

  void write_request(std::size_t i) {
    const ipc::Deliver& d = reqs_[i].msg;
    std::size_t first = slots_.size();
    for (std::size_t j = 0; j < d.recipients.size(); ++j) slots_.push_back(Slot{i, j, {}, {}});
    auto msg = check_message(reqs_[i].fd.get(), d);
    std::optional<Verdict> all;
    if (!msg) {
      log::error("%s: bad delivery request: %s", log::printable(d.queue_id, 40).c_str(),
                 msg.message().c_str());
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

  void deliver_slot(std::size_t s) {
    const std::size_t i = slots_[s].req;
    const ipc::Deliver& d = reqs_[i].msg;
    const ReqInfo& ri = info_[i];
    Resolution r = resolver_.resolve(d.recipients[slots_[s].rcpt], ri.marks, now_);
    if (r.failure) return fail(s, *r.failure);
    std::string headers;
    QuotaState* qs = nullptr;
    if (r.mailbox && r.mailbox->store) {
      const Mailbox& mb = *r.mailbox;
      // The domain's own limit on message size (mailctl domain set max-size).
      if (mb.max_message_size > 0 && ri.msg->size > static_cast<std::uint64_t>(mb.max_message_size))
        return fail(s, permanent("5.3.4", "message larger than the " + std::to_string(mb.max_message_size) +
                                              " bytes the domain accepts"));
      headers = delivery_headers(d.sender, mb.address);
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
      Maildir* m = maildir(r.mailbox->path, &err);
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
      Maildir* m = maildir(mb.path, &err);
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
      items_.push_back(Item{s, m, std::move(*draft), lower(mb.address), mb.quota});
      append_done(slots_[s], "delivered to maildir");
      if (qs) {
        qs->usage.bytes += size;
        qs->usage.count += 1;
        add_quota_warning(s, mb, *qs);
      }
    }
    if (r.mailbox && r.mailbox->autoreply.enabled) add_autoreply(s, *r.mailbox);
  }

  // Was this message written by this agent as a quota warning (queue file envelope:
  // protocol "local", client kClientQuotaWarning)?
  bool is_quota_warning(std::size_t i) {
    const ipc::Deliver& d = reqs_[i].msg;
    if (!d.sender.empty()) return false;
    auto env = common::spool::read_envelope(reqs_[i].fd.get());
    return env && env->env.protocol == "local" && env->env.client == kClientQuotaWarning;
  }

  // The new messages a resolution asks for.
  void add_forwards(std::size_t s, const Resolution& r) {
    const std::size_t i = slots_[s].req;
    const ipc::Deliver& d = reqs_[i].msg;
    auto add = [&](const std::vector<std::string>& rcpts, const std::string& sender, const char* kind) {
      auto o = std::make_unique<Outgoing>();
      o->slot = s;
      o->required = true;
      o->kind = kind;
      o->env = local_envelope(sender, rcpts, now_, d.body_8bit, d.smtputf8);
      o->head = forward_trace(policy_.hostname.empty() ? "localhost" : policy_.hostname, o->env.queue_id,
                              rcpts, r.delivered_to, now_);
      o->body = info_[i].msg;
      out_.push_back(std::move(o));
    };
    if (!r.local_targets.empty()) add(r.local_targets, d.sender, "sent on");
    if (!r.remote_targets.empty()) add(r.remote_targets, remote_sender(s, r), "forwarded");
  }

  // The envelope sender of a copy forwarded to other domains: rewritten with SRS, so
  // that SPF checks of the original sender's domain still pass at the destination.
  std::string remote_sender(std::size_t s, const Resolution& r) {
    const ipc::Deliver& d = reqs_[slots_[s].req].msg;
    if (d.sender.empty() || r.keep_sender) return d.sender;
    auto a = common::mail::parse_mailbox(d.sender, true);
    if (!a || a->domain.empty() || a->literal) return d.sender;
    auto local = resolver_.is_local_domain(a->domain);
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

  void add_autoreply(std::size_t s, const Mailbox& mb) {
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
        log::warn("%s: cannot record the auto-reply of %s: %s", id.c_str(), user.c_str(),
                  st.message().c_str());
    };
    out_.push_back(std::move(o));
  }

  void add_quota_warning(std::size_t s, const Mailbox& mb, QuotaState& qs) {
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

  Submitter* submitter() const { return owner_.submitter(); }

  void write_outgoing_all() {
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

  void outgoing_failed(Outgoing& o) {
    const std::string& id = qid(slots_[o.slot].req);
    if (o.required) {
      log::error("%s: %s to %zu address(es) not queued: %s", id.c_str(), o.kind.c_str(),
                 o.env.recipients.size(), o.status.message().c_str());
      fail(o.slot, temporary("4.3.0", o.kind + " could not be queued: " + o.status.message()));
    } else {
      log::warn("%s: %s not sent: %s", id.c_str(), o.kind.c_str(), o.status.message().c_str());
    }
  }

  void submit_all() {
    std::vector<Outgoing*> go;
    for (auto& o : out_)
      if (o->status && o->fd && !slots_[o->slot].verdict) go.push_back(o.get());
    if (go.empty() || !submitter()) return;
    submit_outgoing(*submitter(), go);
    for (Outgoing* o : go) {
      Slot& sl = slots_[o->slot];
      if (!o->submitted) {
        outgoing_failed(*o);
        continue;
      }
      log::info("%s: %s for %s queued as %s, from=<%s>, %zu recipient(s)", qid(sl.req).c_str(),
                o->kind.c_str(), log::printable(reqs_[sl.req].msg.recipients[sl.rcpt]).c_str(),
                o->env.queue_id.c_str(), log::printable(o->env.sender).c_str(), o->env.recipients.size());
      if (o->required) append_done(sl, o->kind + " as " + o->env.queue_id);
      if (o->on_sent) o->on_sent();
    }
  }

  void sync_files() {
    std::size_t live = 0;
    for (auto& it : items_)
      if (!slots_[it.slot].verdict) ++live;
    if (live >= owner_.syncfs_min()) {
      sync_filesystems(false, "local.fsync");
      for (auto& it : items_) it.draft.fd.reset();
      return;
    }
    for (auto& it : items_) {
      if (slots_[it.slot].verdict) continue;
      common::Status st = sync_draft(*it.md, it.draft);
      if (!st) {
        log::error("%s", st.message().c_str());
        fail(it.slot, io_failure(st.err(), st.message()));
      }
    }
  }

  // One syncfs per filesystem that holds live items (in new/ if `published`); a failure
  // fails every item on that filesystem.
  void sync_filesystems(bool published, const char* fault_point) {
    std::map<dev_t, Maildir*> fss;
    for (auto& it : items_)
      if (!slots_[it.slot].verdict && (!published || it.draft.in_new)) fss.emplace(it.md->device(), it.md);
    for (auto [dev, m] : fss) {
      common::Status st = m->sync_filesystem(fault_point);
      if (st) continue;
      log::error("%s", st.message().c_str());
      for (auto& it : items_)
        if (it.md->device() == dev) fail(it.slot, io_failure(st.err(), st.message()));
    }
  }

  void publish_files() {
    for (auto& it : items_) {
      if (slots_[it.slot].verdict) continue;
      common::Status st = publish_draft(*it.md, it.draft);
      if (!st) {
        log::error("%s", st.message().c_str());
        fail(it.slot, io_failure(st.err(), st.message()));
      }
    }
  }

  // One fsync per distinct new/ directory, however many files went into it (or one
  // syncfs per filesystem when there are many directories).
  void sync_directories() {
    std::set<Maildir*> dirs;
    for (auto& it : items_)
      if (it.draft.in_new) dirs.insert(it.md);
    if (dirs.size() >= owner_.syncfs_min()) {
      sync_filesystems(true, "local.dir_fsync");
      return;
    }
    for (Maildir* m : dirs) {
      common::Status st = m->sync_new();
      if (st) continue;
      log::error("%s", st.message().c_str());
      for (auto& it : items_)
        if (it.md == m) fail(it.slot, io_failure(st.err(), st.message()));
    }
  }

  // Maildir++ bookkeeping for the files that made it: one "+size 1" line each (when the
  // Maildir has a maildirsize), the "mailbox full" flag, the warning marker.
  void after_delivery() {
    std::map<std::string, std::pair<std::string, std::int64_t>> touched;  // path -> user, quota
    for (auto& it : items_) {
      if (slots_[it.slot].verdict || !it.draft.in_new) continue;
      auto a = md::append_delta(it.md->path(), static_cast<std::int64_t>(it.draft.size), 1);
      if (!a) log::warn("%s: %s", qid(slots_[it.slot].req).c_str(), a.message().c_str());
      touched[it.md->path()] = {it.user, it.quota};
    }
    for (const auto& [path, uq] : touched) {
      if (uq.second <= 0) continue;
      auto q = quotas_.find(path);
      if (q == quotas_.end()) continue;
      // The reserved usage counted every draft; take back those that failed.
      std::int64_t used = q->second.usage.bytes;
      for (auto& it : items_)
        if (it.md->path() == path && (slots_[it.slot].verdict || !it.draft.in_new))
          used -= static_cast<std::int64_t>(it.draft.size);
      owner_.update_full_flag(uq.first, used, uq.second, now_);
      if (used * 100 < uq.second * policy_.warning_percent &&
          ::access((path + "/" + kWarnedFile).c_str(), F_OK) == 0)
        ::unlink((path + "/" + kWarnedFile).c_str());
    }
  }

  std::vector<ipc::DeliverDone> answers() {
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

  std::vector<Request>& reqs_;
  BatchDeliverer& owner_;
  Resolver& resolver_;
  NameGenerator& names_;
  const LocalPolicy& policy_;
  std::int64_t now_;
  std::vector<ReqInfo> info_;
  std::vector<Slot> slots_;
  std::vector<Item> items_;
  std::vector<std::unique_ptr<Outgoing>> out_;
  std::map<std::string, std::unique_ptr<Maildir>> maildirs_;
  std::map<std::string, common::Status> open_errors_;
  std::map<std::string, QuotaState> quotas_;
  std::set<std::string> replied_;  // "user sender" answered in this batch
  std::size_t open_drafts_ = 0;
};

}  // namespace

std::vector<ipc::DeliverDone> BatchDeliverer::deliver(std::vector<Request>& batch) {
  return Batch(batch, *this).run();
}

void BatchDeliverer::update_full_flag(const std::string& user, std::int64_t used, std::int64_t quota,
                                      std::int64_t now) {
  if (policy_.quota_flags_dir.empty()) return;
  if (!flags_loaded_) {
    auto names = md::full_flags(policy_.quota_flags_dir);
    if (names) flagged_ = std::set<std::string>(names->begin(), names->end());
    flags_loaded_ = names.is_ok();
  }
  bool full = quota > 0 && used >= quota;
  bool is = flagged_.count(user) > 0;
  if (full == is) return;
  common::Status st = full ? md::set_full_flag(policy_.quota_flags_dir, user, used, quota, now)
                           : md::clear_full_flag(policy_.quota_flags_dir, user);
  if (!st) {
    // Once: a missing flag directory (mailctl init not re-run) would say it every time.
    if (!flag_warned_)
      log::warn("mailbox-full flag of %s: %s (smtpd cannot refuse at RCPT)", user.c_str(),
                st.message().c_str());
    flag_warned_ = true;
    return;
  }
  if (full) {
    log::info("mailbox of %s is full (%lld of %lld bytes): smtpd now answers 452 4.2.2", user.c_str(),
              static_cast<long long>(used), static_cast<long long>(quota));
    flagged_.insert(user);
  } else {
    log::info("mailbox of %s has room again", user.c_str());
    flagged_.erase(user);
  }
}

void BatchDeliverer::recheck_full_flags(std::int64_t now) {
  if (policy_.quota_flags_dir.empty()) return;
  auto names = md::full_flags(policy_.quota_flags_dir);
  if (!names) {
    log::warn("%s", names.message().c_str());
    return;
  }
  flags_loaded_ = true;
  flagged_ = std::set<std::string>(names->begin(), names->end());
  for (const auto& addr : *names) {
    auto u = resolver_.user(addr);
    if (!u) continue;  // try again next time
    std::int64_t quota = *u ? (*u)->quota : 0;
    std::int64_t used = 0;
    if (quota > 0) {
      auto usage = md::read_usage(resolver_.config().mail_root + "/" + (*u)->maildir,
                                  md::QuotaDef{static_cast<std::uint64_t>(quota), 0}, {true, now});
      if (!usage) continue;
      used = usage->usage.bytes;
    }
    update_full_flag(addr, used, quota, now);
  }
}

}  // namespace delivery::local
