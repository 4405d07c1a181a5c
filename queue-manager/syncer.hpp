// Syncer: runs the group commit's syncfs(2) on a thread of its own, so that while one
// batch is being made durable the event loop keeps taking in (and linking) the next one
// and keeps dispatching deliveries. One sync at a time; completion comes back to the
// loop through an eventfd.
#pragma once

#include <event2/event.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"

namespace qmgr {

class Syncer {
 public:
  // on_done(0) after a successful sync, on_done(errno) after a failed one; on the loop.
  Syncer(event_base* base, int dir_fd, std::function<void(int err)> on_done);
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  bool busy() const { return busy_; }
  // REQUIRES: !busy(). `fail` makes this sync report EIO without syncing (fault tests).
  void start(bool fail = false);

 private:
  static void on_event_cb(evutil_socket_t, short, void* self) noexcept;
  void run();

  int dir_fd_;
  std::function<void(int)> on_done_;
  common::io::UniqueFd efd_;
  common::io::EventPtr ev_;
  bool busy_ = false;  // loop thread only

  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false, fail_ = false, stop_ = false;
  int result_ = 0;
  std::thread thread_;
};

}  // namespace qmgr
