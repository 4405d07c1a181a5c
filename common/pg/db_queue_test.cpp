// Tests of where database work runs (db_queue.hpp) and of the connection's own deadlines
// (conn.hpp, deadline.hpp), with a real event loop and a real socket: inline for LMDB,
// on one worker thread for PostgreSQL with done() back on the loop, a full queue
// refusing, the deadline counted from when a task was queued, and a server that accepts
// the connection and never answers costing the timeout, not a hang.
#include "common/pg/db_queue.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/pg/conn.hpp"
#include "common/pg/deadline.hpp"

namespace pg = common::pg;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

void run_loop(event_base* base, int seconds) {
  timeval limit{seconds, 0};
  event_base_loopexit(base, &limit);
  event_base_dispatch(base);
}

}  // namespace

TEST_CASE("DbQueue: inline (LMDB) runs both parts at once, before submit() returns") {
  pg::DbQueue q(false, milliseconds(100));
  CHECK_FALSE(q.offloaded());
  auto base = common::io::new_event_base();
  REQUIRE(q.start(base.get()).is_ok());
  std::thread::id ran;
  bool done = false;
  CHECK(q.submit([&] { ran = std::this_thread::get_id(); }, [&] { done = true; }));
  CHECK(ran == std::this_thread::get_id());
  CHECK(done);
  CHECK_FALSE(pg::current_deadline());  // no deadline on the loop
}

TEST_CASE("DbQueue: offloaded (PostgreSQL) runs on one other thread under a deadline, done() on the loop") {
  auto base = common::io::new_event_base();
  const auto loop = std::this_thread::get_id();
  pg::DbQueue q(true, milliseconds(2000));
  REQUIRE(q.start(base.get()).is_ok());
  CHECK(q.offloaded());
  constexpr int kTasks = 50;
  int done = 0, on_loop = 0;
  std::atomic<int> off_loop{0}, with_deadline{0};
  std::thread::id first;
  std::atomic<int> same_thread{0};
  auto t0 = Clock::now();
  for (int i = 0; i < kTasks; ++i)
    CHECK(q.submit(
        [&, i] {
          if (std::this_thread::get_id() != loop) ++off_loop;
          if (i == 0) first = std::this_thread::get_id();
          if (std::this_thread::get_id() == first) ++same_thread;
          auto d = pg::current_deadline();
          if (d && *d > t0 && *d <= Clock::now() + milliseconds(2000)) ++with_deadline;
        },
        [&] {
          if (std::this_thread::get_id() == loop) ++on_loop;
          if (++done == kTasks) event_base_loopbreak(base.get());
        }));
  run_loop(base.get(), 10);
  CHECK(done == kTasks);
  CHECK(on_loop == kTasks);
  CHECK(off_loop == kTasks);
  CHECK(same_thread == kTasks);  // one connection, one thread
  CHECK(with_deadline == kTasks);
}

TEST_CASE(
    "DbQueue: bounded, a full queue refuses and runs nothing; waiting time counts against the deadline") {
  auto base = common::io::new_event_base();
  pg::DbQueue q(true, milliseconds(100), 2);
  REQUIRE(q.start(base.get()).is_ok());
  std::atomic<bool> release{false};
  std::atomic<int> ran{0}, expired{0};
  int done = 0;
  auto finish = [&] {
    if (++done == 3) event_base_loopbreak(base.get());
  };
  // The first blocks the thread past the others' deadline; two wait; the fourth is refused.
  CHECK(q.submit(
      [&] {
        while (!release) std::this_thread::sleep_for(milliseconds(5));
        ++ran;
      },
      finish));
  for (int i = 0; i < 50 && q.waiting() > 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  auto late = [&] {
    ++ran;
    if (Clock::now() >= *pg::current_deadline()) ++expired;
  };
  CHECK(q.submit(late, finish));
  CHECK(q.submit(late, finish));
  bool refused_ran = false;
  CHECK_FALSE(q.submit([&] { refused_ran = true; }, [&] { refused_ran = true; }));
  std::this_thread::sleep_for(milliseconds(200));
  release = true;
  run_loop(base.get(), 10);
  CHECK(ran == 3);
  CHECK(expired == 2);
  CHECK_FALSE(refused_ran);
}

TEST_CASE(
    "Conn: a server that accepts and never answers costs the timeout, then fails fast until the retry") {
  // A real listening socket that nobody accepts on: the kernel completes the TCP
  // handshake, the startup packet is never answered (a hung or stopped server).
  common::io::UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(l);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l.get(), 8) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  pg::Settings s;
  s.conninfo = "host=127.0.0.1 port=" + std::to_string(ntohs(a.sin_port)) + " dbname=x sslmode=disable";
  s.role = "mailbag_reader";
  s.program = "test";
  s.timeout_ms = 300;
  pg::Conn c(s);
  auto t0 = Clock::now();
  auto r = c.query("SELECT 1");
  auto took = Clock::now() - t0;
  REQUIRE_FALSE(r);
  CHECK(r.message().find("no answer in time") != std::string::npos);
  CHECK(took >= milliseconds(250));
  CHECK(took < milliseconds(3000));
  // Within the retry interval: the same error, without waiting again.
  t0 = Clock::now();
  CHECK_FALSE(c.query("SELECT 1"));
  CHECK(Clock::now() - t0 < milliseconds(500));
  // A caller's deadline nearer than the timeout wins; one already past costs nothing.
  std::this_thread::sleep_for(pg::Conn::kRetryInterval);
  {
    pg::DeadlineScope scope(Clock::now() + milliseconds(100));
    t0 = Clock::now();
    CHECK_FALSE(c.query("SELECT 1"));
    took = Clock::now() - t0;
    CHECK(took >= milliseconds(80));
    CHECK(took < milliseconds(1000));
  }
  std::this_thread::sleep_for(pg::Conn::kRetryInterval);
  {
    pg::DeadlineScope scope(Clock::now() - milliseconds(1));
    t0 = Clock::now();
    auto late = c.query("SELECT 1");
    CHECK_FALSE(late);
    CHECK(late.message().find("no time left") != std::string::npos);
    CHECK(Clock::now() - t0 < milliseconds(500));
  }
}
