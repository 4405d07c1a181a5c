// Unit tests for the SOCK_SEQPACKET helpers (common/ipc/socket.hpp) over real sockets:
// frames with and without a passed fd, the size cap, refused extra descriptors (which
// must be closed, not leaked), EOF, timeouts, listen/connect and peer credentials.
#include "common/ipc/socket.hpp"

#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"

using namespace common::ipc;
using common::io::UniqueFd;

namespace {

struct Pair {
  UniqueFd a, b;
};
Pair seqpacket_pair() {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  return Pair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

int open_fd_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// Sends `data` with every fd in `fds` attached, as a hostile peer might.
void send_with_fds(int sock, const std::string& data, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * fds.size()));
  m.msg_control = cbuf.data();
  m.msg_controllen = cbuf.size();
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  REQUIRE(sendmsg(sock, &m, 0) == static_cast<ssize_t>(data.size()));
}

std::string temp_dir() {
  char dir[] = "/tmp/mailbag-sock-test-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return dir;
}

}  // namespace

TEST_CASE("frame round trip without an fd") {
  Pair p = seqpacket_pair();
  Submit s;
  s.request_id = 99;
  std::string frame = encode_frame(s);
  REQUIRE(send_frame(p.a.get(), frame).is_ok());
  auto r = recv_frame(p.b.get());
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  CHECK_FALSE(r->eof);
  CHECK_FALSE(r->fd.valid());
  CHECK(r->data == frame);
  auto f = parse_frame(r->data);
  REQUIRE(f.is_ok());
  CHECK(decode<Submit>(*f)->request_id == 99);

  // Datagram boundaries are kept: two frames arrive as two.
  REQUIRE(send_frame(p.a.get(), "one").is_ok());
  REQUIRE(send_frame(p.a.get(), "second").is_ok());
  CHECK(recv_frame(p.b.get())->data == "one");
  CHECK(recv_frame(p.b.get())->data == "second");
}

TEST_CASE("frame round trip with a passed fd") {
  Pair p = seqpacket_pair();
  int pipefd[2];
  REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  REQUIRE(send_frame(p.a.get(), encode_frame(Submit{}), wr.get()).is_ok());
  wr.reset();  // the only write end left is the one in flight
  auto r = recv_frame(p.b.get());
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  REQUIRE(r->fd.valid());
  CHECK((fcntl(r->fd.get(), F_GETFD) & FD_CLOEXEC) != 0);  // MSG_CMSG_CLOEXEC
  REQUIRE(write(r->fd.get(), "hi", 2) == 2);
  char buf[4] = {};
  REQUIRE(read(rd.get(), buf, sizeof buf) == 2);
  CHECK(std::string(buf, 2) == "hi");
  r->fd.reset();
  CHECK(read(rd.get(), buf, sizeof buf) == 0);  // no copy of the write end was leaked
}

TEST_CASE("the largest frame passes, a larger one is refused") {
  Pair p = seqpacket_pair();
  int big = 1 << 20;
  REQUIRE(setsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == 0);
  REQUIRE(setsockopt(p.b.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big) == 0);
  std::string max(kMaxFrame, 'm');
  REQUIRE(send_frame(p.a.get(), max).is_ok());
  auto r = recv_frame(p.b.get());
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  CHECK(r->data.size() == kMaxFrame);

  for (std::size_t size : {kMaxFrame + 1, kMaxFrame + 4096}) {
    REQUIRE(send_frame(p.a.get(), std::string(size, 'o')).is_ok());
    auto o = recv_frame(p.b.get());
    REQUIRE_FALSE(o.is_ok());
    CHECK(o.message() == "frame larger than the limit");
  }
  // An oversized frame carrying an fd: refused, and the fd closed.
  int pipefd[2];
  REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
  UniqueFd rd(pipefd[0]);
  REQUIRE(send_frame(p.a.get(), std::string(kMaxFrame + 1, 'o'), pipefd[1]).is_ok());
  close(pipefd[1]);
  int before = open_fd_count();
  CHECK_FALSE(recv_frame(p.b.get()).is_ok());
  CHECK(open_fd_count() == before);
  char c;
  CHECK(read(rd.get(), &c, 1) == 0);
  // The socket still works afterwards.
  REQUIRE(send_frame(p.a.get(), "after").is_ok());
  CHECK(recv_frame(p.b.get())->data == "after");
}

TEST_CASE("two fds on one frame are refused and closed") {
  for (int nfds : {2, 3, 8, 20}) {
    Pair p = seqpacket_pair();
    std::vector<int> reads, writes;
    for (int i = 0; i < nfds; ++i) {
      int pipefd[2];
      REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
      reads.push_back(pipefd[0]);
      writes.push_back(pipefd[1]);
    }
    send_with_fds(p.a.get(), "frame", writes);
    for (int w : writes) close(w);
    int before = open_fd_count();
    auto r = recv_frame(p.b.get());
    INFO(nfds, " fds");
    CHECK_FALSE(r.is_ok());
    CHECK(open_fd_count() == before);
    // Every write end that crossed the socket is closed: the read ends see EOF.
    for (int rd : reads) {
      char c;
      CHECK(read(rd, &c, 1) == 0);
      close(rd);
    }
  }
}

TEST_CASE("peer close is EOF; an empty socket is EAGAIN") {
  Pair p = seqpacket_pair();
  int fl = fcntl(p.b.get(), F_GETFL);
  REQUIRE(fcntl(p.b.get(), F_SETFL, fl | O_NONBLOCK) == 0);
  auto none = recv_frame(p.b.get());
  REQUIRE_FALSE(none.is_ok());
  CHECK((none.status().err() == EAGAIN || none.status().err() == EWOULDBLOCK));
  p.a.reset();
  auto r = recv_frame(p.b.get());
  REQUIRE(r.is_ok());
  CHECK(r->eof);
  CHECK(r->data.empty());
  // Sending to a closed peer is an error, not a SIGPIPE.
  Pair q = seqpacket_pair();
  q.b.reset();
  auto st = send_frame(q.a.get(), "x");
  CHECK_FALSE(st.is_ok());
  CHECK(st.err() == EPIPE);
}

TEST_CASE("recv_frame_timeout") {
  Pair p = seqpacket_pair();
  auto t = recv_frame_timeout(p.b.get(), 50);
  REQUIRE_FALSE(t.is_ok());
  CHECK(t.status().err() == ETIMEDOUT);
  REQUIRE(send_frame(p.a.get(), "late").is_ok());
  auto r = recv_frame_timeout(p.b.get(), 1000);
  REQUIRE(r.is_ok());
  CHECK(r->data == "late");
}

TEST_CASE("listen_unix, connect_unix and peer credentials") {
  std::string dir = temp_dir();
  std::string path = dir + "/submit";
  auto l = listen_unix(path, 0660, static_cast<gid_t>(-1));
  REQUIRE_MESSAGE(l.is_ok(), l.message());
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0660);
  // The listener is non-blocking: accept with nothing waiting fails at once.
  CHECK(accept(l->get(), nullptr, nullptr) < 0);

  auto c = connect_unix(path);
  REQUIRE_MESSAGE(c.is_ok(), c.message());
  UniqueFd s(accept4(l->get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(s.valid());
  auto cred = peer_cred(s.get());
  REQUIRE(cred.is_ok());
  CHECK(cred->pid == getpid());
  CHECK(cred->uid == getuid());
  CHECK(cred->gid == getgid());
  REQUIRE(send_frame(c->get(), "hello").is_ok());
  CHECK(recv_frame(s.get())->data == "hello");

  // A stale socket is replaced (a restarted daemon binds again).
  l->reset();
  auto again = listen_unix(path, 0600, getgid());
  REQUIRE_MESSAGE(again.is_ok(), again.message());
  REQUIRE(lstat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_gid == getgid());
  again->reset();
  unlink(path.c_str());

  // Something that is not a socket is never removed.
  std::string file = dir + "/file";
  UniqueFd f(open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  REQUIRE(f.valid());
  auto refused = listen_unix(file, 0600, static_cast<gid_t>(-1));
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.message().find("not a socket") != std::string::npos);
  CHECK(access(file.c_str(), F_OK) == 0);
  unlink(file.c_str());

  // Nobody listening; path too long for sun_path.
  CHECK_FALSE(connect_unix(dir + "/nobody").is_ok());
  std::string long_path = dir + "/" + std::string(200, 'x');
  CHECK(listen_unix(long_path, 0600, static_cast<gid_t>(-1)).message().find("too long") != std::string::npos);
  CHECK_FALSE(connect_unix(long_path).is_ok());
  rmdir(dir.c_str());
}
