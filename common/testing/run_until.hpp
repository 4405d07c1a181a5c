// Test helper: drives a libevent loop until a condition holds, for unit tests of
// event-driven code (IPC channels and clients) that need no real daemon.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <thread>

namespace common::testing {

// Runs the loop until pred() holds or `seconds` pass; returns pred().
template <class P>
bool run_until(event_base* base, P pred, double seconds = 5) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!pred() && std::chrono::steady_clock::now() < end) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    if (!pred()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred();
}

}  // namespace common::testing
