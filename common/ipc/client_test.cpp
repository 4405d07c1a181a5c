// Unit tests for the internal-socket clients (client.hpp). The blocking client talks to a
// socketpair whose other end the test plays by hand: a good conversation with a passed
// descriptor, a Hello of another protocol or version, the deadline, an oversized or
// malformed frame, and a server that closes. The asynchronous client talks to a real
// listening socket on a real libevent loop: replies out of order, the deadline (and the
// late reply dropped), a server that goes away, and no server at all.
#include "common/ipc/client.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/io/event.hpp"
#include "common/ipc/socket.hpp"
#include "common/testing/run_until.hpp"

using namespace common::ipc;
using common::Result;
using common::Status;
using common::io::UniqueFd;

namespace {

std::pair<UniqueFd, UniqueFd> seqpacket_pair() {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

Peer submit_peer(std::string path = "/nonexistent/submit") {
  return Peer{std::move(path), kProtoSubmit, "test-client", "the queue manager"};
}

void send_hello(int fd, const char* proto = kProtoSubmit, std::uint32_t version = kProtoVersion) {
  Hello h;
  h.protocol = proto;
  h.version = version;
  h.role = "queue-manager";
  REQUIRE(send_frame(fd, encode_frame(h)).is_ok());
}

template <class T>
T read_as(int fd, UniqueFd* passed = nullptr) {
  auto r = recv_frame_timeout(fd, 2000);
  REQUIRE(r.is_ok());
  auto f = parse_frame(r->data);
  REQUIRE(f.is_ok());
  auto m = decode<T>(*f);
  REQUIRE(m.is_ok());
  if (passed) *passed = std::move(r->fd);
  return *m;
}

using common::testing::run_until;

struct TempSocket {
  std::string dir;
  std::string path;
  UniqueFd listener;
  TempSocket() {
    char tmpl[] = "/tmp/mb-client-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    path = dir + "/submit";
    auto l = listen_unix(path, 0600, static_cast<gid_t>(-1));
    REQUIRE(l.is_ok());
    listener = std::move(*l);
  }
  ~TempSocket() {
    listener.reset();
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  UniqueFd accept() {
    UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(c);
    return c;
  }
};

}  // namespace

TEST_CASE("blocking: Hello, a request with a passed descriptor, the reply") {
  auto [mine, theirs] = seqpacket_pair();
  send_hello(theirs.get());
  auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
  REQUIRE(c.is_ok());
  Hello h = read_as<Hello>(theirs.get());
  CHECK(h.protocol == kProtoSubmit);
  CHECK(h.role == "test-client");

  UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(c->send(Submit{7}, file.get()).is_ok());
  UniqueFd passed;
  CHECK(read_as<Submit>(theirs.get(), &passed).request_id == 7);
  CHECK(passed);
  SubmitDone d;
  d.request_id = 7;
  d.verdict = {common::mail::Outcome::kOk, "2.0.0", "queued"};
  d.queue_id = "0123456789abcdef";
  REQUIRE(send_frame(theirs.get(), encode_frame(d)).is_ok());
  auto got = c->receive<SubmitDone>();
  REQUIRE(got.is_ok());
  CHECK(got->queue_id == "0123456789abcdef");
}

TEST_CASE("blocking: a Hello of another version or protocol is EPROTONOSUPPORT") {
  for (auto [proto, version] : {std::pair<const char*, std::uint32_t>{kProtoSubmit, kProtoVersion + 1},
                                {kProtoControl, kProtoVersion}}) {
    auto [mine, theirs] = seqpacket_pair();
    send_hello(theirs.get(), proto, version);
    auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
    REQUIRE_FALSE(c.is_ok());
    CHECK(c.status().err() == EPROTONOSUPPORT);
    CHECK(c.message().find("the queue manager speaks") != std::string::npos);
  }
}

TEST_CASE("blocking: a first frame that is not a Hello is EPROTO") {
  auto [mine, theirs] = seqpacket_pair();
  REQUIRE(send_frame(theirs.get(), encode_frame(Submit{1})).is_ok());
  auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
  REQUIRE_FALSE(c.is_ok());
  CHECK(c.status().err() == EPROTO);
}

TEST_CASE("blocking: no reply before the deadline is ETIMEDOUT") {
  auto [mine, theirs] = seqpacket_pair();
  send_hello(theirs.get());
  auto c = BlockingClient::attach(std::move(mine), submit_peer(), 150);
  REQUIRE(c.is_ok());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c->call<SubmitDone>(Submit{1});
  auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().err() == ETIMEDOUT);
  CHECK(waited >= std::chrono::milliseconds(140));
  CHECK(waited < std::chrono::seconds(2));
  // A server that never says Hello times out the same way.
  auto [m2, t2] = seqpacket_pair();
  auto c2 = BlockingClient::attach(std::move(m2), submit_peer(), 100);
  REQUIRE_FALSE(c2.is_ok());
  CHECK(c2.status().err() == ETIMEDOUT);
}

TEST_CASE("blocking: an oversized or malformed frame is EPROTO") {
  {
    auto [mine, theirs] = seqpacket_pair();
    int big = 512 * 1024;
    REQUIRE(::setsockopt(theirs.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == 0);
    send_hello(theirs.get());
    auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
    REQUIRE(c.is_ok());
    std::string huge(kMaxFrame + 100, 'x');
    REQUIRE(::send(theirs.get(), huge.data(), huge.size(), 0) == static_cast<ssize_t>(huge.size()));
    auto r = c->receive<SubmitDone>();
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().err() == EPROTO);
  }
  {
    auto [mine, theirs] = seqpacket_pair();
    send_hello(theirs.get());
    auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
    REQUIRE(c.is_ok());
    REQUIRE(::send(theirs.get(), "\0\0\0\x09\0\x0bxyz", 9, 0) == 9);  // SubmitDone, cut short
    auto r = c->receive<SubmitDone>();
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().err() == EPROTO);
  }
}

TEST_CASE("blocking: the server closing is ECONNRESET, before or after its Hello") {
  {
    auto [mine, theirs] = seqpacket_pair();
    theirs.reset();
    auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
    REQUIRE_FALSE(c.is_ok());
    CHECK(c.status().err() == ECONNRESET);
  }
  {
    auto [mine, theirs] = seqpacket_pair();
    send_hello(theirs.get());
    auto c = BlockingClient::attach(std::move(mine), submit_peer(), 2000);
    REQUIRE(c.is_ok());
    theirs.reset();
    auto r = c->call<SubmitDone>(Submit{1});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().err() == ECONNRESET);
    CHECK(r.message().find("the queue manager") != std::string::npos);
  }
}

TEST_CASE("blocking: nobody listening is ENOENT, worded for the user") {
  auto c = BlockingClient::connect(submit_peer("/nonexistent/private/submit"), 1000);
  REQUIRE_FALSE(c.is_ok());
  CHECK(c.status().err() == ENOENT);
  CHECK(c.message() == "the queue manager is not running (no socket at /nonexistent/private/submit)");
}

TEST_CASE("async: replies are matched to their requests in any order") {
  auto base = common::io::new_event_base();
  TempSocket s;
  AsyncClient client(base.get(), submit_peer(s.path), 5000);
  std::vector<std::pair<int, std::string>> answers;
  auto ask = [&](int tag) {
    return client.call<SubmitDone>(Submit{}, UniqueFd(), [&answers, tag](Result<SubmitDone> r) {
      answers.emplace_back(tag, r ? r->queue_id : "error: " + r.message());
    });
  };
  std::uint64_t a = ask(1);
  std::uint64_t b = ask(2);
  REQUIRE(a != 0);
  REQUIRE(b != 0);
  CHECK(answers.empty());  // never from inside call()
  UniqueFd server = s.accept();
  send_hello(server.get());
  CHECK(read_as<Hello>(server.get()).role == "test-client");
  CHECK(read_as<Submit>(server.get()).request_id == a);
  CHECK(read_as<Submit>(server.get()).request_id == b);
  for (std::uint64_t id : {b, a}) {
    SubmitDone d;
    d.request_id = id;
    d.queue_id = "q" + std::to_string(id);
    REQUIRE(send_frame(server.get(), encode_frame(d)).is_ok());
  }
  REQUIRE(run_until(base.get(), [&] { return answers.size() == 2; }));
  CHECK(answers[0] == std::pair<int, std::string>{2, "q" + std::to_string(b)});
  CHECK(answers[1] == std::pair<int, std::string>{1, "q" + std::to_string(a)});
  CHECK(client.pending() == 0);
  CHECK(client.connected());
}

TEST_CASE("async: the deadline fails a request; its late reply is dropped, the connection stays") {
  auto base = common::io::new_event_base();
  TempSocket s;
  AsyncClient client(base.get(), submit_peer(s.path), 100);
  std::vector<std::string> answers;
  auto done = [&](Result<SubmitDone> r) {
    answers.push_back(r ? "ok " + r->queue_id : "err " + std::to_string(r.status().err()));
  };
  std::uint64_t id = client.call<SubmitDone>(Submit{}, UniqueFd(), done);
  REQUIRE(id != 0);
  UniqueFd server = s.accept();
  send_hello(server.get());
  REQUIRE(run_until(base.get(), [&] { return !answers.empty(); }));
  CHECK(answers == std::vector<std::string>{"err " + std::to_string(ETIMEDOUT)});
  SubmitDone late;
  late.request_id = id;
  REQUIRE(send_frame(server.get(), encode_frame(late)).is_ok());
  run_until(
      base.get(), [] { return false; }, 0.1);
  CHECK(answers.size() == 1);
  CHECK(client.connected());
  // A cancelled request is never answered either.
  std::uint64_t id2 = client.call<SubmitDone>(Submit{}, UniqueFd(), done);
  client.cancel(id2);
  run_until(
      base.get(), [] { return false; }, 0.2);
  CHECK(answers.size() == 1);
}

TEST_CASE("async: a server that goes away fails every waiting request once") {
  auto base = common::io::new_event_base();
  TempSocket s;
  AsyncClient client(base.get(), submit_peer(s.path), 0);
  int failed = 0, calls = 0;
  for (int i = 0; i < 3; ++i)
    REQUIRE(client.call<SubmitDone>(Submit{}, UniqueFd(), [&](Result<SubmitDone> r) {
      ++calls;
      if (!r) ++failed;
    }) != 0);
  {
    UniqueFd server = s.accept();
    send_hello(server.get());
  }
  REQUIRE(run_until(base.get(), [&] { return calls == 3; }));
  CHECK(failed == 3);
  CHECK_FALSE(client.connected());
  run_until(
      base.get(), [] { return false; }, 0.1);
  CHECK(calls == 3);
}

TEST_CASE("async: a Hello of another version fails the request") {
  auto base = common::io::new_event_base();
  TempSocket s;
  AsyncClient client(base.get(), submit_peer(s.path), 0);
  std::optional<Status> got;
  REQUIRE(client.call<SubmitDone>(Submit{}, UniqueFd(), [&](Result<SubmitDone> r) { got = r.status(); }) !=
          0);
  UniqueFd server = s.accept();
  send_hello(server.get(), kProtoSubmit, kProtoVersion + 1);
  REQUIRE(run_until(base.get(), [&] { return got.has_value(); }));
  CHECK_FALSE(got->is_ok());
}

TEST_CASE("async: no server: call() returns 0 and never calls back") {
  auto base = common::io::new_event_base();
  AsyncClient client(base.get(), submit_peer("/nonexistent/private/submit"), 1000);
  bool called = false;
  CHECK(client.call<SubmitDone>(Submit{}, UniqueFd(), [&](Result<SubmitDone>) { called = true; }) == 0);
  run_until(
      base.get(), [] { return false; }, 0.05);
  CHECK_FALSE(called);
}
