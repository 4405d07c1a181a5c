// Recovery at start: rebuild the in-memory queue from spool/queue and the state records.
//   file + record     -> the record's state (recipients already delivered stay done)
//   file, no record   -> never attempted (or finished but not yet removed): all pending,
//                        envelope read and validated from the file
//   record, no file   -> the message was finished; the record is dropped
//   invalid file      -> moved aside to spool/corrupt with a log line
// What happens to the rebuilt messages (in flight means pending and maybe delivered,
// then ready or deferred by next_try) is the Core's (Core::adopt).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "common/log/log.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/queue_id.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Status;
namespace log = common::log;

Status Manager::recover() {
  auto t0 = std::chrono::steady_clock::now();
  std::unordered_map<std::string, std::unique_ptr<Message>> records;
  std::vector<std::string> bad_records;
  MB_TRY(state_->load_all(
      [&](Message&& m) {
        auto p = std::make_unique<Message>(std::move(m));
        p->has_record = true;
        std::string id = p->id;
        records[id] = std::move(p);
      },
      [&](const std::string& id) { bad_records.push_back(id); }));
  for (const auto& id : bad_records) {
    log::warn("%s: undecodable queue state record; the message is retried from its file", id.c_str());
    state_->stage_erase(id);
  }

  int dupfd = ::dup(pre_.queue_dir.get());
  if (dupfd < 0) return Status::sys("dup");
  DIR* dir = ::fdopendir(dupfd);
  if (!dir) {
    ::close(dupfd);
    return Status::sys("opendir queue");
  }
  ::rewinddir(dir);
  std::size_t from_records = 0, from_files = 0, damaged = 0;
  std::int64_t t = now();
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(dir);

  for (const auto& name : names) {
    if (!common::spool::is_queue_id(name)) {
      move_aside(name, "not a queue file name");
      ++damaged;
      continue;
    }
    std::unique_ptr<Message> m;
    if (auto it = records.find(name); it != records.end()) {
      m = std::move(it->second);
      records.erase(it);
      struct stat st;
      if (::fstatat(pre_.queue_dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 ||
          !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != m->data_offset + m->data_size) {
        state_->stage_erase(name);
        move_aside(name, "size does not match its state record");
        ++damaged;
        continue;
      }
      ++from_records;
    } else {
      // O_NONBLOCK: a FIFO left in queue/ must not hang the start (read_envelope then
      // refuses anything but a regular file); O_NOFOLLOW: a symlink is not followed.
      common::io::UniqueFd fd(
          ::openat(pre_.queue_dir.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
      if (!fd) {
        move_aside(name, std::strerror(errno));
        ++damaged;
        continue;
      }
      auto pe = common::spool::read_envelope(fd.get());
      if (!pe || pe->env.queue_id != name || pe->env.recipients.empty()) {
        move_aside(name, pe ? "envelope does not match its name" : pe.message());
        ++damaged;
        continue;
      }
      m = from_envelope(*pe);
      ++from_files;
    }
    // In flight before the restart: pending again, and maybe delivered (Core::adopt).
    core_.adopt(std::move(m), t);
  }
  if (damaged > 0) core_.note_removal();
  for (const auto& [id, m] : records) state_->stage_erase(id);
  if (state_->dirty()) {
    Status st = state_->commit();
    if (!st) log::error("queue state database: %s", st.message().c_str());
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  log::info(
      "queue recovered in %.0f ms: %zu messages (%zu with state, %zu new), %zu damaged, %zu stale records",
      ms, core_.queue().size(), from_records, from_files, damaged, records.size());
  return Status::ok();
}

}  // namespace qmgr
