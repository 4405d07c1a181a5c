// Implementation of the libevent helpers in event.hpp.
#include "common/io/event.hpp"

#include <csignal>

#include "common/check.hpp"
#include "common/log/log.hpp"

namespace common::io {
namespace {

struct Soon {
  std::function<void()> fn;
};

void soon_cb(evutil_socket_t, short, void* arg) noexcept {
  std::unique_ptr<Soon> s(static_cast<Soon*>(arg));
  s->fn();
}

void term_cb(evutil_socket_t sig, short, void* arg) noexcept {
  log::info("signal %d received, shutting down", static_cast<int>(sig));
  event_base_loopexit(static_cast<event_base*>(arg), nullptr);
}

}  // namespace

EventBasePtr new_event_base() {
  EventBasePtr b(event_base_new());
  MB_CHECK(b != nullptr, "event_base_new failed");
  return b;
}

void run_soon(event_base* base, std::function<void()> fn) { run_after(base, 0, std::move(fn)); }

void run_after(event_base* base, double seconds, std::function<void()> fn) {
  auto* s = new Soon{std::move(fn)};
  timeval when = to_timeval(seconds);
  if (event_base_once(base, -1, EV_TIMEOUT, soon_cb, s, &when) != 0) {
    delete s;
    MB_CHECK(false, "event_base_once failed");
  }
}

SignalEvents install_termination_handlers(event_base* base) {
  std::signal(SIGPIPE, SIG_IGN);
  SignalEvents ev;
  ev.term.reset(evsignal_new(base, SIGTERM, term_cb, base));
  ev.intr.reset(evsignal_new(base, SIGINT, term_cb, base));
  MB_CHECK(ev.term && ev.intr, "evsignal_new failed");
  event_add(ev.term.get(), nullptr);
  event_add(ev.intr.get(), nullptr);
  return ev;
}

timeval to_timeval(double seconds) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

}  // namespace common::io
