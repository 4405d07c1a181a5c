// Implementation of the fd helpers in fdio.hpp.
#include "common/io/fdio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace common::io {

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::sys("write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::ok();
}

Status pwrite_all(int fd, std::string_view data, off_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::sys("pwrite");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += n;
  }
  return Status::ok();
}

Status pread_upto(int fd, std::string* out, std::size_t len, off_t offset) {
  out->resize(len);
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, out->data() + got, len - got, offset + static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      out->resize(got);
      return Status::sys("pread");
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out->resize(got);
  return Status::ok();
}

Result<std::string> read_file(const std::string& path, std::size_t max) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::sys("open " + path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::sys("read " + path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max)
      return Status::error(path + ": file too large (over " + std::to_string(max) + " bytes)");
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Status set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return Status::sys("fcntl O_NONBLOCK");
  return Status::ok();
}

Status set_cloexec(int fd) {
  int fl = ::fcntl(fd, F_GETFD);
  if (fl < 0 || ::fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return Status::sys("fcntl FD_CLOEXEC");
  return Status::ok();
}

Status fsync_fd(int fd, const char* what) {
  if (::fsync(fd) < 0) return Status::sys(std::string("fsync ") + what);
  return Status::ok();
}

Status fsync_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Status::sys("open " + path);
  if (::fsync(fd.get()) < 0) return Status::sys("fsync " + path);
  return Status::ok();
}

Status make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::error("make_dirs: empty path");
  std::string cur;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) return Status::sys("mkdir " + cur);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return Status::sys("stat " + path);
  if (!S_ISDIR(st.st_mode)) return Status::error(path + ": not a directory");
  return Status::ok();
}

Result<UniqueFd> open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Status::sys("open " + path);
  return fd;
}

}  // namespace common::io
