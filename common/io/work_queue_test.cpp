// Tests of the work queue with a real event loop: run() on a worker thread, done()
// afterwards on the loop's thread, every task exactly once, work that waits (sleeps)
// overlapping on the threads instead of queueing behind one another, and a full queue
// refusing work. Also the Lifetime token.
#include "common/io/work_queue.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "common/io/lifetime.hpp"

using namespace common::io;

TEST_CASE("WorkQueue: run() on a worker, done() on the loop, each once") {
  auto base = common::io::new_event_base();
  const std::thread::id loop = std::this_thread::get_id();
  constexpr int kTasks = 200;
  std::atomic<int> ran{0};
  int done = 0, on_worker = 0, on_loop = 0;
  {
    WorkQueue pool(4, WorkQueue::kUnbounded);
    REQUIRE(pool.start(base.get()).is_ok());
    for (int i = 0; i < kTasks; ++i) {
      auto where = std::make_shared<std::thread::id>();
      CHECK(pool.submit(make_task(
          [&ran, where] {
            *where = std::this_thread::get_id();
            ++ran;
          },
          [&, where] {
            if (*where != loop) ++on_worker;
            if (std::this_thread::get_id() == loop) ++on_loop;
            if (++done == kTasks) event_base_loopbreak(base.get());
          })));
    }
    timeval limit{20, 0};
    event_base_loopexit(base.get(), &limit);
    event_base_dispatch(base.get());
  }
  CHECK(ran == kTasks);
  CHECK(done == kTasks);
  CHECK(on_worker == kTasks);
  CHECK(on_loop == kTasks);
}

TEST_CASE("WorkQueue: waits overlap on the threads") {
  auto base = common::io::new_event_base();
  int done = 0;
  WorkQueue pool(8, WorkQueue::kUnbounded);
  REQUIRE(pool.start(base.get()).is_ok());
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i)
    CHECK(pool.submit(make_task([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); },
                                [&] {
                                  if (++done == 8) event_base_loopbreak(base.get());
                                })));
  timeval limit{20, 0};
  event_base_loopexit(base.get(), &limit);
  event_base_dispatch(base.get());
  CHECK(done == 8);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1200));  // not 8 x 200 ms
}

TEST_CASE("WorkQueue: a full queue refuses work; refused and unrun tasks never call done()") {
  auto base = common::io::new_event_base();
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  int done = 0;
  {
    WorkQueue q(1, 2);
    REQUIRE(q.start(base.get()).is_ok());
    auto block = [&] {
      ++started;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    CHECK(q.submit(block, [&] { ++done; }));
    while (started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(q.submit(block, [&] { ++done; }));  // waiting: 1
    CHECK(q.submit(block, [&] { ++done; }));  // waiting: 2
    CHECK(q.waiting() == 2);
    CHECK_FALSE(q.submit(block, [&] { ++done; }));  // full
    release = true;
  }
  CHECK(done == 0);  // the loop never ran
}

TEST_CASE("Lifetime: guards die with the owner or at end()") {
  Guard g;
  CHECK_FALSE(g.alive());
  int calls = 0;
  std::function<void()> fn;
  {
    Lifetime life;
    g = life.guard();
    CHECK(g.alive());
    fn = life.bind([&] { ++calls; });
    fn();
    CHECK(calls == 1);
  }
  CHECK_FALSE(g.alive());
  fn();
  CHECK(calls == 1);
  Lifetime early;
  Guard e = early.guard();
  early.end();
  CHECK(early.ended());
  CHECK_FALSE(e.alive());
}
