// Implementation of common/log: formatting, the stderr and syslog sinks, rate limiting.
#include "common/log/log.hpp"

#include <pthread.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "common/check.hpp"

namespace common::log {
namespace {

const char* g_program = "mailbag";
Target g_target = Target::kStderr;
// getpid() is a system call (glibc no longer caches it) and every stderr line carries the
// pid: kept here, refreshed in a forked child.
int g_pid = static_cast<int>(getpid());

void emit(int prio, const char* severity, const char* fmt, va_list ap) {
  char body[2048];
  std::vsnprintf(body, sizeof body, fmt, ap);
  // A message never spans lines: a stray newline from a format argument is flattened.
  for (char* p = body; *p; ++p)
    if (*p == '\n' || *p == '\r') *p = ' ';
  if (g_target == Target::kSyslog) {
    if (severity[0] == 'i')
      syslog(prio, "%s", body);
    else
      syslog(prio, "%s: %s", severity, body);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  // One write(2) per line, so lines from several processes sharing a file never interleave.
  char line[2300];
  int n;
  if (severity[0] == 'i')
    n = std::snprintf(line, sizeof line, "%s.%03dZ %s[%d]: %s\n", stamp, static_cast<int>(tv.tv_usec / 1000),
                      g_program, g_pid, body);
  else
    n = std::snprintf(line, sizeof line, "%s.%03dZ %s[%d]: %s: %s\n", stamp,
                      static_cast<int>(tv.tv_usec / 1000), g_program, g_pid, severity, body);
  if (n < 0) return;
  std::size_t len = static_cast<std::size_t>(n) < sizeof line ? static_cast<std::size_t>(n) : sizeof line - 1;
  if (len == sizeof line - 1) line[len - 1] = '\n';
  ssize_t w = ::write(STDERR_FILENO, line, len);
  (void)w;
}

}  // namespace

void init(const char* program, Target target) {
  g_program = program;
  g_target = target;
  g_pid = static_cast<int>(getpid());
  static bool hooked = false;
  if (!hooked) hooked = pthread_atfork(nullptr, nullptr, [] { g_pid = static_cast<int>(getpid()); }) == 0;
  if (target == Target::kSyslog) openlog(program, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

Target target() { return g_target; }

#define MB_LOG_BODY(prio, sev) \
  va_list ap;                  \
  va_start(ap, fmt);           \
  emit(prio, sev, fmt, ap);    \
  va_end(ap)

void info(const char* fmt, ...) { MB_LOG_BODY(LOG_INFO, "info"); }
void warn(const char* fmt, ...) { MB_LOG_BODY(LOG_WARNING, "warning"); }
void error(const char* fmt, ...) { MB_LOG_BODY(LOG_ERR, "error"); }
void fatal(const char* fmt, ...) {
  MB_LOG_BODY(LOG_CRIT, "fatal");
  std::exit(1);
}
void panic(const char* fmt, ...) {
  MB_LOG_BODY(LOG_CRIT, "panic");
  std::abort();
}

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(text.size() < max ? text.size() : max);
  for (unsigned char c : text) {
    char buf[8] = {static_cast<char>(c), 0};
    if (c < 0x20 || c >= 0x7f || c == '\\') std::snprintf(buf, sizeof buf, "\\x%02x", c);
    std::size_t n = std::strlen(buf);
    // Never more than `max` bytes of text: an escape that does not fit is cut whole.
    if (out.size() + n > max) {
      out += "...";
      break;
    }
    out.append(buf, n);
  }
  return out;
}

bool RateLimiter::allow(const std::string& key, std::size_t* suppressed) {
  auto now = std::chrono::steady_clock::now();
  if (slots_.size() >= max_keys_ && slots_.find(key) == slots_.end()) {
    // Forget windows that have passed; if the table is still full, the flood is real:
    // drop the line rather than grow without bound.
    for (auto it = slots_.begin(); it != slots_.end();)
      it = (now - it->second.last >= window_) ? slots_.erase(it) : std::next(it);
    if (slots_.size() >= max_keys_) return false;
  }
  auto [it, inserted] = slots_.try_emplace(key);
  Slot& s = it->second;
  if (inserted || now - s.last >= window_) {
    if (suppressed) *suppressed = s.dropped;
    s.last = now;
    s.dropped = 0;
    return true;
  }
  ++s.dropped;
  return false;
}

}  // namespace common::log

void common::check_failed(const char* file, int line, const char* cond, const char* msg) {
  log::panic("%s:%d: check failed: %s: %s", file, line, cond, msg);
}
