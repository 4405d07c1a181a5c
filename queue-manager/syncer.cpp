// Implementation of the group-commit sync thread (see syncer.hpp).
#include "queue-manager/syncer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common/check.hpp"

namespace qmgr {

Syncer::Syncer(event_base* base, int dir_fd, std::function<void(int)> on_done)
    : dir_fd_(dir_fd), on_done_(std::move(on_done)), efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  MB_CHECK(efd_.valid(), "eventfd for the syncer");
  ev_.reset(event_new(base, efd_.get(), EV_READ | EV_PERSIST, on_event_cb, this));
  MB_CHECK(ev_ != nullptr, "event_new for the syncer");
  event_add(ev_.get(), nullptr);
  thread_ = std::thread([this] { run(); });
}

Syncer::~Syncer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Syncer::start(bool fail) {
  MB_CHECK(!busy_, "one sync at a time");
  busy_ = true;
  {
    std::lock_guard<std::mutex> l(mu_);
    requested_ = true;
    fail_ = fail;
  }
  cv_.notify_one();
}

void Syncer::run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || requested_; });
    if (stop_) return;
    requested_ = false;
    bool fail = fail_;
    l.unlock();
    int err = 0;
    if (fail)
      err = EIO;
    else if (::syncfs(dir_fd_) < 0)
      err = errno;
    l.lock();
    result_ = err;
    std::uint64_t one = 1;
    ssize_t w = ::write(efd_.get(), &one, sizeof one);
    (void)w;  // an eventfd counter cannot overflow at one write per sync
  }
}

void Syncer::on_event_cb(evutil_socket_t, short, void* self) noexcept {
  auto* s = static_cast<Syncer*>(self);
  std::uint64_t n;
  if (::read(s->efd_.get(), &n, sizeof n) != sizeof n) return;
  int err;
  {
    std::lock_guard<std::mutex> l(s->mu_);
    err = s->result_;
  }
  s->busy_ = false;
  s->on_done_(err);
}

}  // namespace qmgr
