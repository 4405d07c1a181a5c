// Tests for AgentLink over a real Unix socket and libevent loop: the agent keeps
// retrying until the queue manager listens, receives Deliver with its fd, answers with
// DeliverDone, and re-connects after a malformed frame.
#include "delivery/agent.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <memory>
#include <vector>

#include "common/io/event.hpp"
#include "common/ipc/channel.hpp"
#include "common/ipc/socket.hpp"
#include "delivery/test_support.hpp"

namespace ipc = common::ipc;
using common::io::UniqueFd;

namespace {

// A stand-in for the queue manager's side of private/local: accepts agents, and runs a
// script per accepted connection.
struct FakeQmgr {
  explicit FakeQmgr(event_base* b) : base(b) {}
  event_base* base;
  UniqueFd listener;
  common::io::EventPtr accept_ev;
  std::vector<std::unique_ptr<ipc::Channel>> channels;
  std::vector<ipc::DeliverDone> answers;
  std::function<void(ipc::Channel&, int)> on_accept;  // connection number from 0
  int accepted = 0;

  static void accept_cb(evutil_socket_t fd, short, void* self) noexcept {
    auto* q = static_cast<FakeQmgr*>(self);
    UniqueFd s(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!s) return;
    auto ch = std::make_unique<ipc::Channel>(
        q->base, std::move(s), ipc::kProtoDeliver, "queue-manager",
        [q](const ipc::FrameView& f, UniqueFd) {
          auto d = ipc::decode<ipc::DeliverDone>(f);
          if (d) q->answers.push_back(*d);
          event_base_loopexit(q->base, nullptr);
        },
        [](const common::Status&) {});
    q->on_accept(*ch, q->accepted++);
    q->channels.push_back(std::move(ch));
  }

  void listen(const std::string& path) {
    auto l = ipc::listen_unix(path, 0600, static_cast<gid_t>(-1));
    REQUIRE(l.is_ok());
    listener = std::move(*l);
    accept_ev.reset(event_new(base, listener.get(), EV_READ | EV_PERSIST, accept_cb, this));
    event_add(accept_ev.get(), nullptr);
  }
};

void run_for(event_base* base, double seconds) {
  timeval tv = common::io::to_timeval(seconds);
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

}  // namespace

TEST_CASE("agent retries until the queue manager listens, then delivers and answers") {
  delivery::testing::TempDir dir;
  std::string path = dir.path + "/local";
  auto base = common::io::new_event_base();
  auto q = delivery::testing::make_queued(dir.path, "a@example.org", {"b@example.org"}, "hi\n", 42);

  int handled = 0;
  std::unique_ptr<delivery::AgentLink> link;
  link = std::make_unique<delivery::AgentLink>(
      base.get(), path, "local", [&](ipc::Deliver d, UniqueFd fd, std::uint64_t gen) {
        ++handled;
        CHECK(fd.valid());
        CHECK(d.delivery_id == 42);
        CHECK(d.recipients == std::vector<std::string>{"b@example.org"});
        ipc::DeliverDone done;
        done.delivery_id = d.delivery_id;
        done.results.push_back({common::mail::Outcome::kOk, "2.0.0", "delivered"});
        CHECK(link->send_done(done, gen));
        CHECK_FALSE(link->send_done(done, gen + 1));  // a stale connection's answer is dropped
      });
  link->start();
  CHECK_FALSE(link->connected());

  FakeQmgr qm{base.get()};
  qm.on_accept = [&](ipc::Channel& ch, int) {
    UniqueFd dup(::dup(q.fd.get()));
    ch.send(q.deliver, std::move(dup));
  };
  qm.listen(path);
  run_for(base.get(), 5.0);  // the agent's retry timer fires after 1 s
  CHECK(link->connected());
  CHECK(handled == 1);
  REQUIRE(qm.answers.size() == 1);
  CHECK(qm.answers[0].delivery_id == 42);
  REQUIRE(qm.answers[0].results.size() == 1);
  CHECK(qm.answers[0].results[0].status == "2.0.0");
}

TEST_CASE("agent drops the connection on a malformed frame and re-connects") {
  delivery::testing::TempDir dir;
  std::string path = dir.path + "/local";
  auto base = common::io::new_event_base();
  auto q = delivery::testing::make_queued(dir.path, "", {"b@example.org"}, "hi\n", 7);
  FakeQmgr qm{base.get()};
  qm.on_accept = [&](ipc::Channel& ch, int n) {
    if (n == 0) {
      // A Deliver header with a payload that does not decode.
      std::string frame = ipc::encode_frame(q.deliver);
      frame.resize(frame.size() - 3);
      frame[0] = frame[1] = 0;
      frame[2] = static_cast<char>(frame.size() >> 8);
      frame[3] = static_cast<char>(frame.size());
      ch.send_raw(frame, UniqueFd());
    } else {
      ch.send(q.deliver, UniqueFd(::dup(q.fd.get())));
    }
  };
  qm.listen(path);
  std::vector<std::uint64_t> gens;
  std::unique_ptr<delivery::AgentLink> link;
  link = std::make_unique<delivery::AgentLink>(
      base.get(), path, "local", [&](ipc::Deliver d, UniqueFd, std::uint64_t gen) {
        gens.push_back(gen);
        ipc::DeliverDone done;
        done.delivery_id = d.delivery_id;
        done.results.push_back({common::mail::Outcome::kTemporary, "4.3.0", "later"});
        link->send_done(done, gen);
      });
  link->start();
  run_for(base.get(), 5.0);
  CHECK(qm.accepted == 2);
  REQUIRE(gens.size() == 1);
  CHECK(gens[0] == 2);  // delivered on the second connection
  REQUIRE(qm.answers.size() == 1);
  CHECK(qm.answers[0].delivery_id == 7);
}

TEST_CASE("a request with more recipients than an answer can carry is refused, not delivered") {
  delivery::testing::TempDir dir;
  std::string path = dir.path + "/local";
  auto base = common::io::new_event_base();
  std::vector<std::string> many;
  for (std::size_t i = 0; i <= delivery::AgentLink::kMaxRecipients; ++i)
    many.push_back("u" + std::to_string(i) + "@example.org");
  auto q = delivery::testing::make_queued(dir.path, "", many, "hi\n", 9);
  FakeQmgr qm{base.get()};
  qm.on_accept = [&](ipc::Channel& ch, int) { ch.send(q.deliver, UniqueFd(::dup(q.fd.get()))); };
  qm.listen(path);
  int handled = 0;
  delivery::AgentLink link(base.get(), path, "local",
                           [&](ipc::Deliver, UniqueFd, std::uint64_t) { ++handled; });
  link.start();
  run_for(base.get(), 5.0);
  CHECK(handled == 0);
  REQUIRE(qm.answers.size() == 1);
  CHECK(qm.answers[0].results.size() == many.size());
  CHECK(qm.answers[0].results[0].outcome == common::mail::Outcome::kTemporary);
}
