// "Mailbox full" flag files (see quota_flags.hpp).
#include "common/maildir/quota_flags.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"

namespace common::maildir {

bool valid_flag_name(const std::string& address) {
  if (address.empty() || address.size() > 255 || address[0] == '.') return false;
  for (unsigned char c : address)
    if (c == '/' || c < 0x21 || c > 0x7e) return false;
  return true;
}

Status set_full_flag(const std::string& dir, const std::string& address, std::int64_t used,
                     std::int64_t quota, std::int64_t now) {
  if (!valid_flag_name(address)) return Status::error("unusable flag name '" + address + "'");
  std::string path = dir + "/" + address;
  std::string tmp = dir + "/." + address + ".tmp";
  io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd) return Status::sys("create " + tmp);
  Status st = ::fchmod(fd.get(), 0640) < 0 ? Status::sys("fchmod " + tmp) : Status::ok();
  if (st)
    st = io::write_all(fd.get(),
                       std::to_string(used) + " " + std::to_string(quota) + " " + std::to_string(now) + "\n");
  fd.reset();
  if (st && ::rename(tmp.c_str(), path.c_str()) < 0) st = Status::sys("rename " + tmp);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

Status clear_full_flag(const std::string& dir, const std::string& address) {
  if (!valid_flag_name(address)) return Status::ok();
  std::string path = dir + "/" + address;
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return Status::sys("unlink " + path);
  return Status::ok();
}

bool has_full_flag(const std::string& dir, const std::string& address) {
  if (!valid_flag_name(address)) return false;
  struct stat st;
  return ::stat((dir + "/" + address).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::vector<std::string>> full_flags(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return Status::sys("opendir " + dir);
  }
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (valid_flag_name(n)) out.push_back(n);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err) return Status::sys("readdir " + dir, err);
  return out;
}

}  // namespace common::maildir
