// Logging for every Mailbag program: one line per event, to syslog (facility mail) or
// stderr. Severities follow Postfix's msg.c: info, warn (something is wrong but we carry
// on), error (a request failed), fatal (we cannot continue, exit 1), panic (a broken
// invariant, abort). Lines about a message start with its queue id (see maillog.hpp).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

namespace common::log {

enum class Target { kStderr, kSyslog };

// REQUIRES: called once at start, before any other function here.
void init(const char* program, Target target);
Target target();

void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Makes peer-supplied text safe for one log line: control characters, backslash and
// bytes >= 0x7f become \xNN escapes, and the result is cut to at most `max` bytes (an
// escape is never split) with "..." appended when something was cut.
std::string printable(std::string_view text, std::size_t max = 200);

// Limits warnings that a peer can trigger at will (one per key per window), so a flood
// of bad input cannot flood the log. Counts what it suppressed and reports it on the
// next allowed line.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::seconds window, std::size_t max_keys = 4096)
      : window_(window), max_keys_(max_keys) {}
  // Returns true if a line for `key` may be logged now; `suppressed` receives how many
  // were dropped since the last allowed one.
  bool allow(const std::string& key, std::size_t* suppressed = nullptr);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point last;
    std::size_t dropped = 0;
  };
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace common::log
