// Implementation of the group-commit sync (see syncer.hpp).
#include "queue-manager/syncer.hpp"

#include <unistd.h>

#include <cerrno>
#include <memory>

#include "common/check.hpp"

namespace qmgr {

Syncer::Syncer(event_base* base, int dir_fd, std::function<void(int)> on_done)
    : dir_fd_(dir_fd), on_done_(std::move(on_done)) {
  MB_CHECK(queue_.start(base).is_ok(), "the syncer's work queue");
}

void Syncer::start(bool fail) {
  MB_CHECK(!busy_, "one sync at a time");
  busy_ = true;
  // The result travels in the task: run() writes it on the worker, done() reads it on
  // the loop after the queue's hand-over (a mutex), so no other synchronisation is needed.
  auto err = std::make_shared<int>(0);
  bool queued = queue_.submit(
      [fd = dir_fd_, fail, err] {
        if (fail)
          *err = EIO;
        else if (::syncfs(fd) < 0)
          *err = errno;
      },
      [this, err] {
        busy_ = false;
        on_done_(*err);
      });
  MB_CHECK(queued, "the sync queue holds the one sync in flight");
}

}  // namespace qmgr
