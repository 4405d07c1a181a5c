// Implementation of the Maildir bookkeeping-file helpers (see mailbox_file.hpp).
#include "common/maildir/mailbox_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/io/fdio.hpp"

namespace common::maildir {

namespace {

const char* kind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  return "not a regular file";
}

}  // namespace

Result<io::UniqueFd> open_regular(const std::string& path, int flags) {
  io::UniqueFd fd(::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ELOOP) return Status::error(path + " is a symbolic link; ignored", ELOOP);
    // O_WRONLY on a FIFO nobody reads fails with ENXIO instead of blocking.
    if (errno == ENXIO) return Status::error(path + " is a FIFO; ignored", EINVAL);
    return Status::sys("open " + path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return Status::sys("stat " + path);
  if (!S_ISREG(st.st_mode))
    return Status::error(path + " is " + kind(st.st_mode) + ", not a regular file; ignored", EINVAL);
  return fd;
}

Result<std::string> read_regular(const std::string& path, std::size_t max) {
  auto fd = open_regular(path, O_RDONLY);
  if (!fd) return fd.status();
  std::string text;
  MB_TRY(io::pread_upto(fd->get(), &text, max + 1, 0));
  if (text.size() > max)
    return Status::error(path + " is larger than " + std::to_string(max) + " bytes", EFBIG);
  return text;
}

}  // namespace common::maildir
