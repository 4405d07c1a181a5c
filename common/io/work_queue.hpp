// The one way to run blocking work off the event loop: a bounded queue of Tasks that a
// few worker threads run, each Task's done() then called back on the loop thread
// (woken through an eventfd the loop watches). Used for password checks (yescrypt costs
// tens of milliseconds of CPU) and for disk work (maildrop opening, deletions, fsync).
// A Task's run() touches only the task's own data; done() may reach the rest of the
// program. A full queue refuses new work (submit() returns false): the caller answers
// "try again later" instead of buffering without bound.
#pragma once

#include <event2/event.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace common::io {

class Task {
 public:
  virtual ~Task() = default;
  virtual void run() = 0;   // on a worker thread
  virtual void done() = 0;  // then on the loop thread
};

// A Task from two callables (they may own move-only state, e.g. an open mailbox).
template <class Run, class Done>
std::unique_ptr<Task> make_task(Run run, Done done) {
  struct T final : Task {
    Run r;
    Done d;
    T(Run a, Done b) : r(std::move(a)), d(std::move(b)) {}
    void run() override { r(); }
    void done() override { d(); }
  };
  return std::make_unique<T>(std::move(run), std::move(done));
}

class WorkQueue {
 public:
  static constexpr std::size_t kUnbounded = 0;
  // `max_waiting`: tasks queued and not yet started (kUnbounded: no limit).
  WorkQueue(std::size_t threads, std::size_t max_waiting) : nthreads_(threads), max_waiting_(max_waiting) {}
  // Stops the workers (a task already running finishes); tasks not yet run, or whose
  // done() has not run, are destroyed without done().
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  common::Status start(event_base* base);
  // False (and `t` destroyed) when max_waiting tasks are already waiting.
  [[nodiscard]] bool submit(std::unique_ptr<Task> t);
  template <class Run, class Done>
  [[nodiscard]] bool submit(Run run, Done done) {
    return submit(make_task(std::move(run), std::move(done)));
  }
  std::size_t waiting() const;

 private:
  static void notify_cb(evutil_socket_t, short, void* self) noexcept;
  void worker();
  void finish_ready();

  std::size_t nthreads_;
  std::size_t max_waiting_;
  common::io::UniqueFd efd_;
  common::io::EventPtr ev_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Task>> todo_;
  std::vector<std::unique_ptr<Task>> ready_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace common::io
