// Unit tests for the failing wake-up notice (wakeup_notice.hpp): exactly one notice after
// the threshold, one when it works again, none with 0, and the text names what failed.
#include "delivery/remote/wakeup_notice.hpp"

#include <doctest/doctest.h>

using delivery::remote::WakeupHealth;
using Notice = WakeupHealth::Notice;

TEST_CASE("one notice after N failures in a row, one when it works again") {
  WakeupHealth h(3);
  CHECK(h.record(false) == Notice::kNone);
  CHECK(h.record(false) == Notice::kNone);
  CHECK(h.record(false) == Notice::kFailing);
  for (int i = 0; i < 10; ++i) CHECK(h.record(false) == Notice::kNone);  // never one per failure
  CHECK(h.failures() == 13);
  CHECK(h.record(true) == Notice::kRecovered);
  CHECK(h.failed_before() == 13);
  CHECK(h.record(true) == Notice::kNone);
  // A new run of failures counts from zero, and gets its own notice.
  CHECK(h.record(false) == Notice::kNone);
  CHECK(h.record(false) == Notice::kNone);
  CHECK(h.record(false) == Notice::kFailing);
}

TEST_CASE("failures below the threshold, broken by a success, send nothing") {
  WakeupHealth h(3);
  for (int i = 0; i < 5; ++i) {
    CHECK(h.record(false) == Notice::kNone);
    CHECK(h.record(false) == Notice::kNone);
    CHECK(h.record(true) == Notice::kNone);
  }
}

TEST_CASE("threshold 0: never a notice; 1: at the first failure") {
  WakeupHealth never(0);
  for (int i = 0; i < 20; ++i) CHECK(never.record(false) == Notice::kNone);
  CHECK(never.record(true) == Notice::kNone);
  WakeupHealth first(1);
  CHECK(first.record(false) == Notice::kFailing);
  CHECK(first.record(true) == Notice::kRecovered);
}

TEST_CASE("the notice text: headers of an automatic message, what failed, how to fix it") {
  delivery::remote::WakeupNoticeFacts f;
  f.hostname = "mx.site.test";
  f.postmaster = "admin@site.test";
  f.host = "[192.0.2.1]:25";
  f.domains = {"site.test", "other.test"};
  f.failures = 3;
  f.problem = "ETRN site.test refused: 458 4.7.1 not allowed";
  std::string m = delivery::remote::wakeup_notice(f, Notice::kFailing, 0);
  CHECK(m.find("To: <admin@site.test>\n") != std::string::npos);
  CHECK(m.find("Auto-Submitted: auto-generated\n") != std::string::npos);  // RFC 3834 5
  CHECK(m.find("Subject: wake-up at [192.0.2.1]:25 failing\n") != std::string::npos);
  CHECK(m.find("ETRN for site.test, other.test") != std::string::npos);
  CHECK(m.find("458 4.7.1 not allowed") != std::string::npos);
  CHECK(m.find("mailctl etrn") != std::string::npos);
  CHECK(m.find("\n\n") != std::string::npos);  // header and body
  f.wakeup_email = "wakeup@backup.test";
  std::string r = delivery::remote::wakeup_notice(f, Notice::kRecovered, 0);
  CHECK(r.find("Subject: wake-up at [192.0.2.1]:25 works again\n") != std::string::npos);
  CHECK(r.find("the wake-up message to wakeup@backup.test") != std::string::npos);
  for (const std::string* s : {&m, &r})
    for (char c : *s) CHECK(c != '\r');  // LF only: the sender turns it into CRLF
}
