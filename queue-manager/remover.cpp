// Implementation of the queue file remover (see remover.hpp).
#include "queue-manager/remover.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/check.hpp"
#include "common/log/log.hpp"

namespace qmgr {

Remover::Remover(event_base* base, int dir_fd) : pending_(std::make_shared<Pending>()) {
  pending_->dir_fd = dir_fd;
  MB_CHECK(queue_.start(base).is_ok(), "the remover's work queue");
}

// The loop has stopped: what is still listed is removed here (a task already running
// finishes its own ids as the queue stops).
Remover::~Remover() { pending_->remove_all(); }

void Remover::remove(std::string id) {
  bool first;
  {
    std::lock_guard<std::mutex> l(pending_->mu);
    first = pending_->ids.empty();
    pending_->ids.push_back(std::move(id));
  }
  if (first) (void)queue_.submit([p = pending_] { p->remove_all(); }, [] {});  // unbounded: always taken
}

void Remover::Pending::remove_all() {
  std::vector<std::string> batch;
  {
    std::lock_guard<std::mutex> l(mu);
    batch.swap(ids);
  }
  for (const auto& id : batch)
    if (::unlinkat(dir_fd, id.c_str(), 0) < 0 && errno != ENOENT)
      common::log::error("%s: cannot remove queue file: %s", id.c_str(), std::strerror(errno));
}

}  // namespace qmgr
