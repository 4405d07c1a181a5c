// Implementation of the TLS session files (see store.hpp).
#include "common/tlsrpt/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/tlsrpt/record.hpp"

namespace common::tlsrpt {

namespace {

constexpr std::size_t kMaxDayFile = 256u << 20;
constexpr std::string_view kSending = ".sending";

bool is_day(std::string_view name) { return day_start(name) >= 0; }

// Flock that retries on EINTR.
bool lock(int fd, int how) {
  while (::flock(fd, how) != 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace

Status append_lines(const std::string& dir, const std::string& day, std::string_view lines) {
  if (!is_day(day)) return Status::error("not a day: " + day);
  std::string path = dir + "/" + day;
  for (int attempt = 0; attempt < 8; ++attempt) {
    io::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return Status::sys("open " + path);
    if (!lock(fd.get(), LOCK_SH)) return Status::sys("flock " + path);
    struct stat mine, named;
    if (::fstat(fd.get(), &mine) != 0) return Status::sys("fstat " + path);
    if (::stat(path.c_str(), &named) != 0 || named.st_ino != mine.st_ino || named.st_dev != mine.st_dev)
      continue;  // claimed by the sender meanwhile: a new file for the day
    // One write: O_APPEND places it whole at the end (a short write only on a full disk).
    ssize_t n = ::write(fd.get(), lines.data(), lines.size());
    if (n < 0) return Status::sys("write " + path);
    if (static_cast<std::size_t>(n) != lines.size()) return Status::error("short write to " + path);
    return Status::ok();
  }
  return Status::error("the file of " + day + " keeps being replaced");
}

Result<std::vector<Claimed>> claim_days(const std::string& dir, const std::string& today,
                                        bool include_today) {
  std::vector<std::string> names;
  {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT) return std::vector<Claimed>{};
      return Status::sys("opendir " + dir);
    }
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::vector<Claimed> out;
  unsigned seq = 0;
  for (const auto& name : names) {
    std::string day = name.substr(0, 10);
    if (!is_day(day)) continue;
    std::string path = dir + "/" + name;
    if (name.size() == 10) {
      if (day > today || (day == today && !include_today)) continue;
      std::string claimed = path + "." + std::to_string(::getpid()) + "-" +
                            std::to_string(std::time(nullptr)) + "-" + std::to_string(seq++) +
                            std::string(kSending);
      if (::rename(path.c_str(), claimed.c_str()) != 0) {
        if (errno == ENOENT) continue;
        return Status::sys("rename " + path);
      }
      path = claimed;
    } else if (!name.ends_with(kSending)) {
      continue;
    }
    io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return Status::sys("open " + path);
    if (!lock(fd.get(), LOCK_EX)) return Status::sys("flock " + path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::sys("fstat " + path);
    std::string text;
    std::size_t size = static_cast<std::size_t>(st.st_size);
    MB_TRY(io::pread_upto(fd.get(), &text, std::min(size, kMaxDayFile), 0));
    out.push_back(Claimed{day, path, std::move(text)});
  }
  return out;
}

}  // namespace common::tlsrpt
