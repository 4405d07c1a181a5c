// Implementation of the passed-message helpers (see message.hpp).
#include "delivery/message.hpp"

#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/io/fdio.hpp"

namespace delivery {
namespace {

using common::Status;

enum class Method { kCopyFileRange, kSendfile, kReadWrite };

// Errors that mean "this method cannot do it here", not "the disk failed".
bool unsupported(int err) { return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP; }

Status copy_read_write(int in, off_t off, int out, std::size_t len, std::size_t* done) {
  char buf[65536];
  std::size_t want = std::min(len, sizeof buf);
  ssize_t n;
  do {
    n = ::pread(in, buf, want, off);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::sys("read queue file");
  *done = static_cast<std::size_t>(n);
  if (n > 0) MB_TRY(common::io::write_all(out, std::string_view(buf, static_cast<std::size_t>(n))));
  return Status::ok();
}

}  // namespace

common::Result<MessageRef> check_message(int fd, const common::ipc::Deliver& d) {
  if (fd < 0) return Status::error("no queue file descriptor with the request");
  struct stat st;
  if (::fstat(fd, &st) < 0) return Status::sys("fstat queue file");
  if (!S_ISREG(st.st_mode)) return Status::error("passed descriptor is not a regular file");
  std::uint64_t end;
  if (__builtin_add_overflow(d.data_offset, d.data_size, &end))
    return Status::error("message range overflows");
  if (end > static_cast<std::uint64_t>(st.st_size))
    return Status::error("message range ends at " + std::to_string(end) + ", file has " +
                         std::to_string(st.st_size) + " bytes");
  if (d.data_lines > d.data_size) return Status::error("more lines than bytes in message");
  return MessageRef{fd, d.data_offset, d.data_size, d.data_lines};
}

Status copy_message(const MessageRef& m, int out_fd) {
  Method method = Method::kCopyFileRange;
  std::uint64_t copied = 0;
  while (copied < m.size) {
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(m.size - copied, 1u << 30));
    off_t off = static_cast<off_t>(m.offset + copied);
    std::size_t n = 0;
    if (method == Method::kCopyFileRange) {
      ssize_t r = ::copy_file_range(m.fd, &off, out_fd, nullptr, chunk, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (unsupported(errno)) {
          method = Method::kSendfile;
          continue;
        }
        return Status::sys("copy_file_range");
      }
      n = static_cast<std::size_t>(r);
    } else if (method == Method::kSendfile) {
      ssize_t r = ::sendfile(out_fd, m.fd, &off, chunk);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (unsupported(errno)) {
          method = Method::kReadWrite;
          continue;
        }
        return Status::sys("sendfile");
      }
      n = static_cast<std::size_t>(r);
    } else {
      MB_TRY(copy_read_write(m.fd, off, out_fd, chunk, &n));
    }
    if (n == 0)
      return Status::error("queue file ended after " + std::to_string(copied) + " of " +
                               std::to_string(m.size) + " message bytes",
                           EIO);
    copied += n;
  }
  return Status::ok();
}

}  // namespace delivery
