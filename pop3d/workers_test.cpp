// Tests of the disk worker pool with a real event loop: run() on a worker thread, done()
// afterwards on the loop's thread, every task exactly once, and work that waits (sleeps)
// overlapping on the threads instead of queueing behind one another.
#include "pop3d/workers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace pop3d;

TEST_CASE("TaskPool: run() on a worker, done() on the loop, each once") {
  auto base = common::io::new_event_base();
  const std::thread::id loop = std::this_thread::get_id();
  constexpr int kTasks = 200;
  std::atomic<int> ran{0};
  int done = 0, on_worker = 0, on_loop = 0;
  {
    TaskPool pool(4);
    REQUIRE(pool.start(base.get()).is_ok());
    for (int i = 0; i < kTasks; ++i) {
      auto where = std::make_shared<std::thread::id>();
      pool.submit(make_task(
          [&ran, where] {
            *where = std::this_thread::get_id();
            ++ran;
          },
          [&, where] {
            if (*where != loop) ++on_worker;
            if (std::this_thread::get_id() == loop) ++on_loop;
            if (++done == kTasks) event_base_loopbreak(base.get());
          }));
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

TEST_CASE("TaskPool: waits overlap on the threads") {
  auto base = common::io::new_event_base();
  int done = 0;
  TaskPool pool(8);
  REQUIRE(pool.start(base.get()).is_ok());
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i)
    pool.submit(make_task([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); },
                          [&] {
                            if (++done == 8) event_base_loopbreak(base.get());
                          }));
  timeval limit{20, 0};
  event_base_loopexit(base.get(), &limit);
  event_base_dispatch(base.get());
  CHECK(done == 8);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1200));  // not 8 x 200 ms
}
