// Implementation of the queue file remover thread (see remover.hpp).
#include "queue-manager/remover.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"

namespace qmgr {

Remover::Remover(int dir_fd) : dir_fd_(dir_fd), thread_([this] { run(); }) {}

Remover::~Remover() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Remover::remove(std::string id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ids_.push_back(std::move(id));
  }
  cv_.notify_one();
}

void Remover::run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || !ids_.empty(); });
    if (ids_.empty() && stop_) return;
    std::deque<std::string> batch;
    batch.swap(ids_);
    l.unlock();
    for (const auto& id : batch)
      if (::unlinkat(dir_fd_, id.c_str(), 0) < 0 && errno != ENOENT)
        common::log::error("%s: cannot remove queue file: %s", id.c_str(), std::strerror(errno));
    l.lock();
  }
}

}  // namespace qmgr
