// Unit tests for common/log: printable() escaping and truncation, the rate limiter's
// windows and key table, and the one-line-per-event rule of the stderr sink.
#include "common/log/log.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/io/fdio.hpp"
#include "common/log/maillog.hpp"

using common::log::printable;
using common::log::RateLimiter;

TEST_CASE("printable escapes what could break a log line") {
  CHECK(printable("plain text, 100% ok") == "plain text, 100% ok");
  CHECK(printable("") == "");
  CHECK(printable("a\r\nb") == "a\\x0d\\x0ab");
  CHECK(printable(std::string_view("a\0b", 3)) == "a\\x00b");
  CHECK(printable("tab\there") == "tab\\x09here");
  CHECK(printable("esc\x1b[31m") == "esc\\x1b[31m");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("\xC3\xA9") == "\\xc3\\xa9");  // non-ASCII too: the log stays ASCII
  // The backslash itself is escaped, so an escape in the output is never ambiguous.
  CHECK(printable("a\\x0ab") == "a\\x5cx0ab");
  CHECK(printable("%s%n") == "%s%n");  // printf specials are data here
}

TEST_CASE("printable truncates to max bytes") {
  CHECK(printable(std::string(10, 'a'), 10) == std::string(10, 'a'));  // fits exactly
  CHECK(printable(std::string(11, 'a'), 10) == std::string(10, 'a') + "...");
  CHECK(printable(std::string(1000, 'a')) == std::string(200, 'a') + "...");
  CHECK(printable("abc", 0) == "...");
  CHECK(printable("", 0) == "");
  // An escape is never split, and the text part never passes max.
  CHECK(printable("abcdefgh\n", 10) == "abcdefgh...");
  CHECK(printable("abcdef\n", 10) == "abcdef\\x0a");
  for (std::size_t max = 0; max < 50; ++max) {
    std::string out = printable(std::string(100, '\x01'), max);
    INFO("max ", max, ": ", out);
    CHECK(out.size() <= max + 3);
    CHECK(out.size() >= 3);
    CHECK(out.substr(out.size() - 3) == "...");
    CHECK((out.size() - 3) % 4 == 0);  // whole escapes only
  }
}

TEST_CASE("RateLimiter allows one line per key per window") {
  RateLimiter rl(std::chrono::seconds(1));
  std::size_t suppressed = 99;
  CHECK(rl.allow("peer-a", &suppressed));
  CHECK(suppressed == 0);
  CHECK_FALSE(rl.allow("peer-a"));
  CHECK_FALSE(rl.allow("peer-a"));
  CHECK_FALSE(rl.allow("peer-a", &suppressed));
  CHECK(rl.allow("peer-b"));  // keys are independent
  CHECK_FALSE(rl.allow("peer-b"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  suppressed = 0;
  CHECK(rl.allow("peer-a", &suppressed));
  CHECK(suppressed == 3);  // reported on the next allowed line
  CHECK_FALSE(rl.allow("peer-a"));
  suppressed = 99;
  CHECK(rl.allow("peer-b", &suppressed));
  CHECK(suppressed == 1);
}

TEST_CASE("RateLimiter key table is bounded") {
  RateLimiter rl(std::chrono::seconds(1), 3);
  CHECK(rl.allow("a"));
  CHECK(rl.allow("b"));
  CHECK(rl.allow("c"));
  // Table full of live windows: a new key is dropped, known keys behave as before.
  CHECK_FALSE(rl.allow("d"));
  CHECK_FALSE(rl.allow("a"));
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(rl.allow("flood-" + std::to_string(i)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  // Windows have passed: old entries are forgotten and new keys get in.
  CHECK(rl.allow("d"));
  CHECK(rl.allow("e"));
  CHECK(rl.allow("f"));
  CHECK_FALSE(rl.allow("g"));
}

namespace {

// Captures what the stderr sink writes while fn runs.
template <class F>
std::string capture_stderr(F fn) {
  char path[] = "/tmp/mailbag-log-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  unlink(path);
  int saved = dup(2);
  REQUIRE(saved >= 0);
  dup2(fd, 2);
  fn();
  dup2(saved, 2);
  close(saved);
  std::string out;
  REQUIRE(common::io::pread_upto(fd, &out, 1 << 20, 0).is_ok());
  close(fd);
  return out;
}

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("one event is one line on stderr") {
  common::log::init("logtest", common::log::Target::kStderr);
  std::string out = capture_stderr([] {
    common::log::info("hello %s", "world");
    common::log::warn("two\nlines\rhere");
    common::log::error("%s", std::string(5000, 'x').c_str());
  });
  CHECK(count_lines(out) == 3);
  CHECK(out.back() == '\n');
  CHECK(out.find(" logtest[") != std::string::npos);
  CHECK(out.find("]: hello world\n") != std::string::npos);
  CHECK(out.find("]: warning: two lines here\n") != std::string::npos);
  CHECK(out.find("]: error: xxx") != std::string::npos);
  // The long line was cut, not split.
  auto last = out.substr(out.rfind("error:"));
  CHECK(last.size() < 2400);
}

TEST_CASE("maillog lines start with the queue id and stay on one line") {
  common::log::init("logtest", common::log::Target::kStderr);
  std::string out = capture_stderr([] {
    common::maillog::delivered("0123456789ABCDEF", "bob@example.org", "local", 1.5, "delivered to maildir");
    common::maillog::deferred("0123456789ABCDEF", "evil\r\nInjected: yes", "mx.example.net[192.0.2.1]:25", 60,
                              "451 try later\n");
  });
  CHECK(count_lines(out) == 2);
  CHECK(out.find("]: 0123456789ABCDEF: to=<bob@example.org>, relay=local, delay=1.50, status=sent "
                 "(delivered to maildir)\n") != std::string::npos);
  CHECK(out.find("to=<evil\\x0d\\x0aInjected: yes>") != std::string::npos);
  CHECK(out.find("status=deferred (451 try later\\x0a)") != std::string::npos);
}
