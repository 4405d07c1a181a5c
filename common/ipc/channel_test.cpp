// Unit tests for ipc::Channel over a real socketpair and a real libevent loop: the Hello
// exchange, frames and fds after it, back-pressure when the socket is full, and how a
// channel closes on a wrong protocol, a wrong version, garbage or a vanished peer.
#include "common/ipc/channel.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/io/event.hpp"
#include "common/ipc/socket.hpp"
#include "common/testing/run_until.hpp"

using namespace common::ipc;
using common::io::UniqueFd;

namespace {

std::pair<UniqueFd, UniqueFd> seqpacket_pair() {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

using common::testing::run_until;

// One end of a channel with everything it saw recorded.
struct Endpoint {
  std::vector<std::string> frames;  // raw payloads, with the type prepended as text
  std::vector<UniqueFd> fds;
  std::optional<std::string> closed;
  std::unique_ptr<Channel> ch;

  Endpoint(event_base* base, UniqueFd sock, const char* proto, const char* role) {
    ch = std::make_unique<Channel>(
        base, std::move(sock), proto, role,
        [this](const FrameView& f, UniqueFd fd) {
          frames.push_back(std::to_string(f.type) + ":" + std::string(f.payload));
          if (fd) fds.push_back(std::move(fd));
        },
        [this](const common::Status& why) { closed = why.message(); });
  }
};

}  // namespace

TEST_CASE("hello exchange, then frames and fds both ways") {
  auto base = common::io::new_event_base();
  auto [s1, s2] = seqpacket_pair();
  Endpoint smtpd(base.get(), std::move(s1), kProtoSubmit, "smtpd");
  Endpoint qmgr(base.get(), std::move(s2), kProtoSubmit, "queue-manager");
  CHECK_FALSE(smtpd.ch->hello_done());
  REQUIRE(run_until(base.get(), [&] { return smtpd.ch->hello_done() && qmgr.ch->hello_done(); }));
  CHECK(smtpd.ch->peer_role() == "queue-manager");
  CHECK(qmgr.ch->peer_role() == "smtpd");
  CHECK(smtpd.frames.empty());  // the Hello is not handed to the owner

  int pipefd[2];
  REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
  UniqueFd rd(pipefd[0]);
  smtpd.ch->send(Submit{7}, UniqueFd(pipefd[1]));
  smtpd.ch->send(Submit{8});
  REQUIRE(run_until(base.get(), [&] { return qmgr.frames.size() == 2; }));
  REQUIRE(qmgr.fds.size() == 1);
  CHECK(write(qmgr.fds[0].get(), "x", 1) == 1);
  char c = 0;
  CHECK(read(rd.get(), &c, 1) == 1);
  CHECK(c == 'x');
  // The sender's copy was closed once sent: with the receiver's gone, EOF.
  qmgr.fds.clear();
  CHECK(read(rd.get(), &c, 1) == 0);

  // Decode what arrived.
  std::string f0 = encode_frame(Submit{7});
  CHECK(qmgr.frames[0] == "10:" + f0.substr(kHeaderSize));

  SubmitDone done;
  done.request_id = 7;
  done.queue_id = "0123456789ABCDEF";
  qmgr.ch->send(done);
  REQUIRE(run_until(base.get(), [&] { return smtpd.frames.size() == 1; }));
  CHECK(smtpd.frames[0] == "11:" + encode_frame(done).substr(kHeaderSize));
  CHECK(smtpd.ch->open());
  CHECK(qmgr.ch->open());
  CHECK_FALSE(smtpd.closed);
}

TEST_CASE("a wrong protocol name or version closes the channel") {
  auto base = common::io::new_event_base();
  {
    auto [s1, s2] = seqpacket_pair();
    Endpoint a(base.get(), std::move(s1), kProtoSubmit, "smtpd");
    Endpoint b(base.get(), std::move(s2), kProtoDeliver, "queue-manager");
    REQUIRE(run_until(base.get(), [&] { return a.closed && b.closed; }));
    CHECK(a.closed->find("peer speaks mailbag-deliver version " + std::to_string(kProtoVersion) +
                         ", want mailbag-submit") == 0);
    CHECK_FALSE(a.ch->open());
    CHECK_FALSE(a.ch->hello_done());
    // Sending on a closed channel is a no-op, not a crash.
    a.ch->send(Submit{1});
    CHECK(a.ch->queued() == 0);
  }
  {
    auto [s1, raw] = seqpacket_pair();
    Endpoint a(base.get(), std::move(s1), kProtoSubmit, "smtpd");
    Hello h;
    h.protocol = kProtoSubmit;
    h.version = kProtoVersion + 1;
    h.role = "future";
    REQUIRE(send_frame(raw.get(), encode_frame(h)).is_ok());
    REQUIRE(run_until(base.get(), [&] { return a.closed.has_value(); }));
    CHECK(a.closed->find("version " + std::to_string(kProtoVersion + 1)) != std::string::npos);
  }
  {
    // Protocol names with control characters are logged escaped.
    auto [s1, raw] = seqpacket_pair();
    Endpoint a(base.get(), std::move(s1), kProtoSubmit, "smtpd");
    Hello h;
    h.protocol = "evil\nprotocol";
    h.version = kProtoVersion;
    REQUIRE(send_frame(raw.get(), encode_frame(h)).is_ok());
    REQUIRE(run_until(base.get(), [&] { return a.closed.has_value(); }));
    CHECK(a.closed->find('\n') == std::string::npos);
  }
}

TEST_CASE("garbage closes the channel and the process carries on") {
  auto base = common::io::new_event_base();
  const std::vector<std::string> garbage = {
      "xy",                                          // shorter than a header
      std::string("\x00\x00\x00\x09\x00\x01zz", 8),  // length field lies
      encode_frame(Submit{1}),                       // well-formed, but not a Hello
      std::string("\x00\x00\x00\x07\x00\x01z", 7),   // a Hello that does not decode
  };
  for (const auto& g : garbage) {
    auto [s1, raw] = seqpacket_pair();
    Endpoint a(base.get(), std::move(s1), kProtoSubmit, "queue-manager");
    REQUIRE(send_frame(raw.get(), g).is_ok());
    REQUIRE(run_until(base.get(), [&] { return a.closed.has_value(); }));
    CHECK_FALSE(a.ch->open());
    CHECK(a.frames.empty());
    // The channel closed its socket: the peer sees EOF after the Hello it was sent.
    auto hello = recv_frame(raw.get());
    REQUIRE(hello.is_ok());
    CHECK_FALSE(hello->eof);
    auto eof = recv_frame(raw.get());
    REQUIRE(eof.is_ok());
    CHECK(eof->eof);
  }
  {
    // Garbage after a good Hello closes too; frames before it were delivered.
    auto [s1, raw] = seqpacket_pair();
    Endpoint a(base.get(), std::move(s1), kProtoSubmit, "queue-manager");
    Hello h;
    h.protocol = kProtoSubmit;
    h.version = kProtoVersion;
    h.role = "sendmail";
    REQUIRE(send_frame(raw.get(), encode_frame(h)).is_ok());
    REQUIRE(send_frame(raw.get(), encode_frame(Submit{5})).is_ok());
    REQUIRE(send_frame(raw.get(), "junk").is_ok());
    REQUIRE(send_frame(raw.get(), encode_frame(Submit{6})).is_ok());
    REQUIRE(run_until(base.get(), [&] { return a.closed.has_value(); }));
    CHECK(a.ch->peer_role() == "sendmail");
    CHECK(a.frames.size() == 1);
    CHECK(*a.closed == "frame shorter than its header");
  }
  {
    // Two fds on one frame: the frame is refused and the channel closed.
    auto [s1, raw] = seqpacket_pair();
    Endpoint a(base.get(), std::move(s1), kProtoSubmit, "queue-manager");
    int p1[2], p2[2];
    REQUIRE(pipe(p1) == 0);
    REQUIRE(pipe(p2) == 0);
    std::string f = encode_frame(Submit{9});
    iovec iov{f.data(), f.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    alignas(cmsghdr) char cbuf[CMSG_SPACE(2 * sizeof(int))];
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int fds[2] = {p1[1], p2[1]};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    Hello h;
    h.protocol = kProtoSubmit;
    h.version = kProtoVersion;
    REQUIRE(send_frame(raw.get(), encode_frame(h)).is_ok());
    REQUIRE(sendmsg(raw.get(), &m, 0) == static_cast<ssize_t>(f.size()));
    close(p1[1]);
    close(p2[1]);
    REQUIRE(run_until(base.get(), [&] { return a.closed.has_value(); }));
    CHECK(a.frames.empty());
    char ch;
    CHECK(read(p1[0], &ch, 1) == 0);
    CHECK(read(p2[0], &ch, 1) == 0);
    close(p1[0]);
    close(p2[0]);
  }
}

TEST_CASE("peer going away closes the channel") {
  auto base = common::io::new_event_base();
  auto [s1, s2] = seqpacket_pair();
  Endpoint a(base.get(), std::move(s1), kProtoDeliver, "queue-manager");
  auto b = std::make_unique<Endpoint>(base.get(), std::move(s2), kProtoDeliver, "local");
  REQUIRE(run_until(base.get(), [&] { return a.ch->hello_done(); }));
  b.reset();
  REQUIRE(run_until(base.get(), [&] { return a.closed.has_value(); }));
  CHECK(*a.closed == "peer closed the connection");
  // close() is idempotent and calls the handler once.
  a.closed.reset();
  a.ch->close(common::Status::error("again"));
  CHECK_FALSE(a.closed);
}

TEST_CASE("frames queue while the socket is full and arrive in order") {
  auto base = common::io::new_event_base();
  auto [s1, s2] = seqpacket_pair();
  Endpoint a(base.get(), std::move(s1), kProtoDeliver, "queue-manager");
  Endpoint b(base.get(), std::move(s2), kProtoDeliver, "remote");
  // Far more than one socket buffer, sent before the loop runs at all.
  const int n = 200;
  for (int i = 0; i < n; ++i) {
    Deliver d;
    d.delivery_id = static_cast<std::uint64_t>(i);
    d.nexthop = std::string(20000, static_cast<char>('a' + i % 26));
    a.ch->send(d);
  }
  CHECK(a.ch->queued() > 0);
  REQUIRE(run_until(
      base.get(), [&] { return b.frames.size() == n; }, 20));
  CHECK(a.ch->queued() == 0);
  for (int i = 0; i < n; ++i) {
    Deliver d;
    d.delivery_id = static_cast<std::uint64_t>(i);
    d.nexthop = std::string(20000, static_cast<char>('a' + i % 26));
    CHECK(b.frames[static_cast<std::size_t>(i)] == "20:" + encode_frame(d).substr(kHeaderSize));
  }
  CHECK_FALSE(a.closed);
  CHECK_FALSE(b.closed);
}

TEST_CASE("an outgoing frame over the limit closes the channel instead of aborting the process") {
  auto base = common::io::new_event_base();
  auto [s1, s2] = seqpacket_pair();
  Endpoint a(base.get(), std::move(s1), kProtoControl, "queue-manager");
  Endpoint b(base.get(), std::move(s2), kProtoControl, "mailctl");
  REQUIRE(run_until(base.get(), [&] { return a.ch->hello_done() && b.ch->hello_done(); }));
  QueueListReply big;
  big.entries.resize(1);
  big.entries[0].sender = std::string(kMaxFrame, 's');
  a.ch->send(big);
  CHECK_FALSE(a.ch->open());
  REQUIRE(run_until(base.get(), [&] { return a.closed.has_value() && b.closed.has_value(); }));
  CHECK(*a.closed == "outgoing frame over the size limit");
  CHECK(b.frames.empty());
}
