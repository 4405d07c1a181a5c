// Recovery at start, the daemon's part: reads the state records and the names in
// spool/queue and gives the Core (core_recovery.cpp, which decides what each becomes)
// what it asks about a file: its size, or its envelope read and validated.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/log/log.hpp"
#include "common/spool/queue_file.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Status;
namespace log = common::log;

std::optional<std::uint64_t> Manager::file_size(const std::string& name) {
  struct stat st;
  if (::fstatat(pre_.queue_dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

common::Result<std::unique_ptr<Message>> Manager::read_queue_file(const std::string& name) {
  // O_NONBLOCK: a FIFO left in queue/ must not hang the start (read_envelope then
  // refuses anything but a regular file); O_NOFOLLOW: a symlink is not followed.
  common::io::UniqueFd fd(
      ::openat(pre_.queue_dir.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return Status::error(std::strerror(errno));
  auto pe = common::spool::read_envelope(fd.get());
  if (!pe) return pe.status();
  return from_envelope(*pe);
}

Status Manager::recover() {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Message>> records;  // each becomes the queue's own
  std::vector<std::string> bad_records;
  MB_TRY(state_->load_all([&](Message&& m) { records.push_back(std::make_unique<Message>(std::move(m))); },
                          [&](const std::string& id) { bad_records.push_back(id); }));

  int dupfd = ::dup(pre_.queue_dir.get());
  if (dupfd < 0) return Status::sys("dup");
  DIR* dir = ::fdopendir(dupfd);
  if (!dir) {
    ::close(dupfd);
    return Status::sys("opendir queue");
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(dir);

  auto r = core_.recover(std::move(names), std::move(records), bad_records, now());
  if (state_->dirty()) {
    Status st = state_->commit();
    if (!st) log::error("queue state database: %s", st.message().c_str());
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  log::info(
      "queue recovered in %.0f ms: %zu messages (%zu with state, %zu new), %zu damaged, %zu stale records",
      ms, core_.queue().size(), r.from_records, r.from_files, r.damaged, r.stale_records);
  return Status::ok();
}

}  // namespace qmgr
