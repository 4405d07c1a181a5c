// Implementation of the local agent's group commit (see batch.hpp).
#include "delivery/local/batch.hpp"

#include <time.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "delivery/message.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {
namespace {

namespace ipc = common::ipc;
namespace log = common::log;
using common::mail::Verdict;

// One recipient of one request.
struct Slot {
  std::size_t req = 0, rcpt = 0;
  std::optional<Verdict> verdict;  // set once failed (or resolved to a failure)
};

// One message file being written for a slot.
struct Item {
  std::size_t slot = 0;
  Maildir* md = nullptr;
  Draft draft;
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

class Batch {
 public:
  Batch(std::vector<Request>& reqs, Resolver& resolver, NameGenerator& names, std::size_t syncfs_min)
      : reqs_(reqs), resolver_(resolver), names_(names), syncfs_min_(syncfs_min) {}

  std::vector<ipc::DeliverDone> run() {
    for (std::size_t i = 0; i < reqs_.size(); ++i) write_request(i);
    sync_files();
    publish_files();
    sync_directories();
    for (auto& it : items_)
      if (slots_[it.slot].verdict) discard_draft(*it.md, it.draft);
    return answers();
  }

 private:
  void fail(std::size_t slot, Verdict v) {
    if (!slots_[slot].verdict) slots_[slot].verdict = std::move(v);
  }

  Maildir* maildir(const std::string& path, common::Status* err) {
    auto it = maildirs_.find(path);
    if (it != maildirs_.end()) return it->second.get();
    auto bad = open_errors_.find(path);
    if (bad != open_errors_.end()) {
      *err = bad->second;
      return nullptr;
    }
    auto md = Maildir::open(path);
    if (!md) {
      open_errors_.emplace(path, md.status());
      *err = md.status();
      return nullptr;
    }
    auto* p = new Maildir(std::move(*md));
    maildirs_.emplace(path, std::unique_ptr<Maildir>(p));
    return p;
  }

  void write_request(std::size_t i) {
    const ipc::Deliver& d = reqs_[i].msg;
    std::size_t first = slots_.size();
    for (std::size_t j = 0; j < d.recipients.size(); ++j) slots_.push_back(Slot{i, j, {}});
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
    }
    for (std::size_t s = first; s < slots_.size(); ++s) {
      if (all) {
        fail(s, *all);
        continue;
      }
      Resolution r = resolver_.resolve(d.recipients[slots_[s].rcpt]);
      if (r.failure) {
        fail(s, *r.failure);
        continue;
      }
      for (const auto& mb : r.mailboxes) {
        common::Status err;
        Maildir* md = maildir(mb.path, &err);
        if (!md) {
          log::error("%s: %s", log::printable(d.queue_id, 40).c_str(), err.message().c_str());
          fail(s, io_failure(err.err(), "cannot open mailbox: " + err.message()));
          break;
        }
        auto draft = write_draft(*md, names_, delivery_headers(d.sender, mb.address), *msg);
        if (!draft) {
          log::error("%s: %s", log::printable(d.queue_id, 40).c_str(), draft.message().c_str());
          fail(s, io_failure(draft.status().err(), "cannot write mailbox: " + draft.message()));
          break;
        }
        if (open_drafts_ >= BatchDeliverer::kMaxOpenDrafts)
          draft->fd.reset();
        else
          ++open_drafts_;
        items_.push_back(Item{s, md, std::move(*draft)});
      }
    }
  }

  void sync_files() {
    std::size_t live = 0;
    for (auto& it : items_)
      if (!slots_[it.slot].verdict) ++live;
    if (live >= syncfs_min_) {
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
    for (auto [dev, md] : fss) {
      common::Status st = md->sync_filesystem(fault_point);
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
    if (dirs.size() >= syncfs_min_) {
      sync_filesystems(true, "local.dir_fsync");
      return;
    }
    for (Maildir* md : dirs) {
      common::Status st = md->sync_new();
      if (st) continue;
      log::error("%s", st.message().c_str());
      for (auto& it : items_)
        if (it.md == md) fail(it.slot, io_failure(st.err(), st.message()));
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
      Verdict v = s.verdict ? *s.verdict : ok("delivered to maildir");
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
  Resolver& resolver_;
  NameGenerator& names_;
  std::vector<Slot> slots_;
  std::vector<Item> items_;
  std::map<std::string, std::unique_ptr<Maildir>> maildirs_;
  std::map<std::string, common::Status> open_errors_;
  std::size_t open_drafts_ = 0;
  std::size_t syncfs_min_;
};

}  // namespace

std::vector<ipc::DeliverDone> BatchDeliverer::deliver(std::vector<Request>& batch) {
  return Batch(batch, resolver_, names_, syncfs_min_).run();
}

}  // namespace delivery::local
