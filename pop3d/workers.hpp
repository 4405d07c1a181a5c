// A pool of threads for pop3d's disk work, so that one session's waits do not hold up
// every other session on the event loop: opening a maildrop (lock, new/ -> cur/ renames,
// fsync of cur/, listing) and the UPDATE state (unlinks, maildirsize, fsync of cur/), which
// take milliseconds each on a busy disk. A Task's run() executes on a worker thread and
// must touch only the task's own data; its done() then runs on the loop thread, where it
// may reach the sessions. Completions come back through an eventfd the loop watches.
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

namespace pop3d {

class Task {
 public:
  virtual ~Task() = default;
  virtual void run() = 0;   // on a worker thread
  virtual void done() = 0;  // then on the loop thread
};

// A Task from two callables (they may own move-only state, e.g. a Maildrop).
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

class TaskPool {
 public:
  explicit TaskPool(std::size_t threads) : nthreads_(threads) {}
  // Stops the workers (a task already running finishes); tasks not yet run or whose
  // done() has not run are destroyed without done().
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  common::Status start(event_base* base);
  void submit(std::unique_ptr<Task> t);

 private:
  static void notify_cb(evutil_socket_t, short, void* self) noexcept;
  void worker();
  void finish_ready();

  std::size_t nthreads_;
  common::io::UniqueFd efd_;
  common::io::EventPtr ev_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Task>> todo_;
  std::vector<std::unique_ptr<Task>> ready_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pop3d
