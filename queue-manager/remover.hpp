// Removes finished queue files off the event loop (on a one-thread common::io::WorkQueue).
// An unlink on a busy ext4 file system can wait a millisecond for the journal; on the
// event loop that stalls intake for everyone. Only messages without a state record go
// this way: their file is the only trace, so whether it disappears a moment later does
// not matter (a restart in between re-delivers with check_duplicates). Messages with a
// record are removed in order on the loop (file first, then record).
#pragma once

#include <event2/event.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/io/work_queue.hpp"

namespace qmgr {

class Remover {
 public:
  Remover(event_base* base, int dir_fd);
  ~Remover();  // finishes the pending removals
  Remover(const Remover&) = delete;
  Remover& operator=(const Remover&) = delete;

  void remove(std::string id);

 private:
  // The ids waiting, shared with the worker: one task takes all of them at once, and a
  // new task is queued only when the list was empty (so a burst costs one hand-over).
  struct Pending {
    int dir_fd;
    std::mutex mu;
    std::vector<std::string> ids;
    void remove_all();
  };
  std::shared_ptr<Pending> pending_;
  common::io::WorkQueue queue_{1, common::io::WorkQueue::kUnbounded};
};

}  // namespace qmgr
