// The bounded work queue (see work_queue.hpp).
#include "common/io/work_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace common::io {

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

common::Status WorkQueue::start(event_base* base) {
  efd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!efd_) return common::Status::sys("eventfd");
  ev_.reset(event_new(base, efd_.get(), EV_READ | EV_PERSIST, notify_cb, this));
  if (!ev_ || event_add(ev_.get(), nullptr) != 0) return common::Status::error("event_new (work queue)");
  for (std::size_t i = 0; i < nthreads_; ++i) threads_.emplace_back([this] { worker(); });
  return common::Status::ok();
}

bool WorkQueue::submit(std::unique_ptr<Task> t) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (max_waiting_ != kUnbounded && todo_.size() >= max_waiting_) return false;
    todo_.push_back(std::move(t));
  }
  cv_.notify_one();
  return true;
}

std::size_t WorkQueue::waiting() const {
  std::lock_guard<std::mutex> g(mu_);
  return todo_.size();
}

void WorkQueue::worker() {
  for (;;) {
    std::unique_ptr<Task> t;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [this] { return stop_ || !todo_.empty(); });
      if (stop_) return;
      t = std::move(todo_.front());
      todo_.pop_front();
    }
    t->run();
    bool first;
    {
      std::lock_guard<std::mutex> g(mu_);
      first = ready_.empty();
      ready_.push_back(std::move(t));
    }
    if (first) {  // the loop has not been told since it last took the list
      std::uint64_t one = 1;
      (void)!::write(efd_.get(), &one, sizeof one);
    }
  }
}

void WorkQueue::notify_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<WorkQueue*>(self)->finish_ready();
}

void WorkQueue::finish_ready() {
  std::uint64_t n;
  (void)!::read(efd_.get(), &n, sizeof n);
  std::vector<std::unique_ptr<Task>> ready;
  {
    std::lock_guard<std::mutex> g(mu_);
    ready.swap(ready_);
  }
  for (auto& t : ready) t->done();
}

}  // namespace common::io
