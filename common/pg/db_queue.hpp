// Where a daemon's database work runs, decided here by the accounts backend and nowhere
// else. With LMDB (a read takes microseconds, from memory-mapped pages) it runs on the
// event loop itself, at once. With PostgreSQL (a network round trip that may take up to
// postgresql_timeout) it runs on one worker thread of a common::io::WorkQueue, and the
// task's done() then runs back on the loop: a slow or unreachable database never stalls
// the loop. One thread, because each process holds one connection. Bounded: at most
// kMaxWaiting tasks wait, and a full queue refuses (the caller answers "try again
// later": 451 4.3.0, -ERR [SYS/TEMP]). Each task runs under a deadline (deadline.hpp) of
// postgresql_timeout from when it was queued, so its done() comes within about that
// time whatever the database does.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstddef>
#include <memory>

#include "common/config/config.hpp"
#include "common/io/work_queue.hpp"
#include "common/pg/deadline.hpp"
#include "common/result.hpp"

namespace common::pg {

class DbQueue {
 public:
  static constexpr std::size_t kMaxWaiting = 256;
  // Offloads when accounts_backend = postgresql, with its postgresql_timeout.
  explicit DbQueue(const config::Config& cfg);
  DbQueue(bool offload, std::chrono::milliseconds timeout, std::size_t max_waiting = kMaxWaiting);
  DbQueue(const DbQueue&) = delete;
  DbQueue& operator=(const DbQueue&) = delete;

  Status start(event_base* base) { return queue_ ? queue_->start(base) : Status::ok(); }
  // False: run() and done() both run inside submit(), at once.
  bool offloaded() const { return queue_ != nullptr; }

  // Runs `run` (the database work; it touches only its own data) and then `done` on the
  // loop thread. False when kMaxWaiting tasks already wait: nothing runs then.
  template <class Run, class Done>
  [[nodiscard]] bool submit(Run run, Done done) {
    if (!queue_) {
      run();
      done();
      return true;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    return queue_->submit(
        [r = std::move(run), deadline]() mutable {
          DeadlineScope scope(deadline);
          r();
        },
        std::move(done));
  }
  std::size_t waiting() const { return queue_ ? queue_->waiting() : 0; }

 private:
  std::chrono::milliseconds timeout_;
  std::unique_ptr<io::WorkQueue> queue_;  // null: inline
};

}  // namespace common::pg
