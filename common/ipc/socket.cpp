// Implementation of the seqpacket helpers; the only place that builds SCM_RIGHTS messages.
#include "common/ipc/socket.hpp"

#include <poll.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/ipc/codec.hpp"

namespace common::ipc {
namespace {

Result<sockaddr_un> make_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return Status::error("socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

}  // namespace

Result<io::UniqueFd> listen_unix(const std::string& path, mode_t mode, gid_t gid) {
  auto addr = make_addr(path);
  if (!addr) return addr.status();
  io::UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return Status::sys("socket");
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Status::error(path + ": exists and is not a socket");
    ::unlink(path.c_str());
  }
  // The socket file gets its mode and group as bind(2) creates it: the umask leaves
  // exactly `mode`, the file-system gid is `gid`. Nothing is done to the path afterwards:
  // the directory may belong to a less trusted user, who could by then have replaced the
  // socket with a symlink to any file (root would chmod or chown that file instead).
  mode_t old_umask = ::umask(static_cast<mode_t>(~mode & 0777));
  gid_t old_fsgid = static_cast<gid_t>(-1);
  if (gid != static_cast<gid_t>(-1)) old_fsgid = static_cast<gid_t>(::setfsgid(gid));
  bool fsgid_set = gid == static_cast<gid_t>(-1) || static_cast<gid_t>(::setfsgid(-1)) == gid;
  int rc = fsgid_set ? ::bind(s.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) : -1;
  int saved = errno;
  if (gid != static_cast<gid_t>(-1)) ::setfsgid(old_fsgid);
  ::umask(old_umask);
  if (!fsgid_set) return Status::error("cannot create " + path + " with group " + std::to_string(gid), EPERM);
  if (rc < 0) return Status::sys("bind " + path, saved);
  // A setgid directory would give its own group instead: check, never repair by path.
  struct stat made;
  if (::lstat(path.c_str(), &made) == 0 && gid != static_cast<gid_t>(-1) && made.st_gid != gid)
    return Status::error(path + ": the directory imposes group " + std::to_string(made.st_gid) + ", not " +
                         std::to_string(gid));
  if (::listen(s.get(), 128) < 0) return Status::sys("listen " + path);
  return s;
}

Result<io::UniqueFd> connect_unix(const std::string& path) {
  auto addr = make_addr(path);
  if (!addr) return addr.status();
  io::UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) return Status::sys("socket");
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) < 0)
    return Status::sys("connect " + path);
  return s;
}

Status send_frame(int sock, std::string_view frame, int pass_fd) {
  iovec iov{const_cast<char*>(frame.data()), frame.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    std::memset(cbuf, 0, sizeof cbuf);
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(sock, &m, MSG_NOSIGNAL);
    if (n >= 0) {
      if (static_cast<std::size_t>(n) != frame.size()) return Status::error("short sendmsg");
      return Status::ok();
    }
    if (errno == EINTR) continue;
    return Status::sys("sendmsg");
  }
}

Result<Received> recv_frame(int sock) {
  Received r;
  // One receive buffer per thread, never zero-filled: frames are usually a few hundred
  // bytes, and clearing 128 KiB for each would cost more than the rest of the work.
  thread_local std::unique_ptr<char[]> buf(new char[kMaxFrame + 1]);
  iovec iov{buf.get(), kMaxFrame + 1};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  // Room for a few fds, so that a peer sending several gets them closed, not leaked.
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 8)];
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::sys("recvmsg");
  int nfds = 0;
  bool bad_cmsg = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (nfds++ == 0)
          r.fd.reset(fd);
        else
          ::close(fd);
      }
    } else {
      bad_cmsg = true;
    }
  }
  if (m.msg_flags & MSG_CTRUNC) return Status::error("control data truncated (too many fds)");
  if (bad_cmsg || nfds > 1) return Status::error("unexpected control data on socket");
  if (m.msg_flags & MSG_TRUNC || static_cast<std::size_t>(n) > kMaxFrame)
    return Status::error("frame larger than the limit");
  if (n == 0) {
    r.data.clear();
    r.eof = true;
    return r;
  }
  r.data.assign(buf.get(), static_cast<std::size_t>(n));
  return r;
}

Result<Received> recv_frame_timeout(int sock, int timeout_ms) {
  pollfd p{sock, POLLIN, 0};
  for (;;) {
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Status::sys("poll");
    if (rc == 0) return Status::error("timed out waiting for reply", ETIMEDOUT);
    break;
  }
  return recv_frame(sock);
}

Result<PeerCred> peer_cred(int sock) {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0) return Status::sys("SO_PEERCRED");
  return PeerCred{c.pid, c.uid, c.gid};
}

}  // namespace common::ipc
