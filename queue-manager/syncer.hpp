// Syncer: runs the group commit's syncfs(2) off the event loop (on a one-thread
// common::io::WorkQueue), so that while one batch is being made durable the loop keeps
// taking in (and linking) the next one and keeps dispatching deliveries. One sync at a
// time: a 250 is sent only after the sync that covers its message has returned.
#pragma once

#include <event2/event.h>

#include <functional>

#include "common/io/work_queue.hpp"

namespace qmgr {

class Syncer {
 public:
  // on_done(0) after a successful sync, on_done(errno) after a failed one; on the loop.
  Syncer(event_base* base, int dir_fd, std::function<void(int err)> on_done);

  bool busy() const { return busy_; }
  // REQUIRES: !busy(). `fail` makes this sync report EIO without syncing (fault tests).
  void start(bool fail = false);

 private:
  int dir_fd_;
  std::function<void(int)> on_done_;
  bool busy_ = false;                  // loop thread only
  common::io::WorkQueue queue_{1, 1};  // at most the one sync in flight waits
};

}  // namespace qmgr
