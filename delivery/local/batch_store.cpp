// The Maildir side of the local agent's batch (see batch_job.hpp): each Maildir opened
// once per batch, quota usage with the batch's reservations, the drafts made durable
// (fsync per file, or syncfs per filesystem for large batches), published into new/ and
// the new/ entries made durable; then the Maildir++ bookkeeping and the "mailbox full"
// flags smtpd reads.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>

#include "common/log/log.hpp"
#include "common/maildir/maildirsize.hpp"
#include "common/maildir/quota_flags.hpp"
#include "delivery/local/batch_job.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

namespace log = common::log;
namespace md = common::maildir;

Maildir* Batch::maildir(const std::string& path, common::Status* err, std::string_view folder) {
  std::string key = folder.empty() ? path : path + "/." + std::string(folder);
  auto it = maildirs_.find(key);
  if (it != maildirs_.end()) return it->second.get();
  auto bad = open_errors_.find(key);
  if (bad != open_errors_.end()) {
    *err = bad->second;
    return nullptr;
  }
  auto m = folder.empty() ? Maildir::open(path) : Maildir::open_folder(path, folder);
  if (!m) {
    open_errors_.emplace(key, m.status());
    *err = m.status();
    return nullptr;
  }
  auto* p = new Maildir(std::move(*m));
  maildirs_.emplace(key, std::unique_ptr<Maildir>(p));
  return p;
}

Maildir* Batch::target(const Mailbox& mb, bool junk, common::Status* err) {
  return maildir(mb.path, err, junk && mb.junk_folder ? kJunkFolder : std::string_view());
}

// The usage of a Maildir with a quota, loaded once per batch.
QuotaState* Batch::quota_state(const Mailbox& mb, std::size_t req, common::Status* err) {
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

void Batch::sync_files() {
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
void Batch::sync_filesystems(bool published, const char* fault_point) {
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

void Batch::publish_files() {
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
void Batch::sync_directories() {
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
void Batch::after_delivery() {
  std::map<std::string, std::pair<std::string, std::int64_t>> touched;  // path -> user, quota
  for (auto& it : items_) {
    if (slots_[it.slot].verdict || !it.draft.in_new) continue;
    // Maildir++ keeps one maildirsize, in the root, for every folder.
    auto a = md::append_delta(it.root, static_cast<std::int64_t>(it.draft.size), 1);
    if (!a) log::warn("%s: %s", qid(slots_[it.slot].req).c_str(), a.message().c_str());
    touched[it.root] = {it.user, it.quota};
  }
  for (const auto& [path, uq] : touched) {
    if (uq.second <= 0) continue;
    auto q = quotas_.find(path);
    if (q == quotas_.end()) continue;
    // The reserved usage counted every draft; take back those that failed.
    std::int64_t used = q->second.usage.bytes;
    for (auto& it : items_)
      if (it.root == path && (slots_[it.slot].verdict || !it.draft.in_new))
        used -= static_cast<std::int64_t>(it.draft.size);
    owner_.update_full_flag(uq.first, used, uq.second, now_);
    if (used * 100 < uq.second * policy_.warning_percent &&
        ::access((path + "/" + kWarnedFile).c_str(), F_OK) == 0)
      ::unlink((path + "/" + kWarnedFile).c_str());
  }
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
    auto u = recipients_.user(addr);
    if (!u) continue;  // try again next time
    std::int64_t quota = *u ? (*u)->quota : 0;
    std::int64_t used = 0;
    if (quota > 0) {
      auto usage = md::read_usage(recipients_.config().mail_root + "/" + (*u)->maildir,
                                  md::QuotaDef{static_cast<std::uint64_t>(quota), 0}, {true, now});
      if (!usage) continue;
      used = usage->usage.bytes;
    }
    update_full_flag(addr, used, quota, now);
  }
}

}  // namespace delivery::local
