// ClientLimits with a hand-driven clock: sessions per address, the per-minute connection
// rate, the AUTH failure delay and block, exemptions, and pruning.
#include "smtpd/limits.hpp"

#include <doctest/doctest.h>

using smtpd::ClientLimits;
using V = ClientLimits::Verdict;

namespace {

ClientLimits::Settings settings(std::int64_t sessions, std::int64_t rate, std::int64_t failures,
                                std::int64_t block) {
  ClientLimits::Settings s;
  s.max_sessions = sessions;
  s.connect_rate = rate;
  s.auth_failures = failures;
  s.block_time = block;
  return s;
}

}  // namespace

TEST_CASE("concurrent sessions per address") {
  ClientLimits l(settings(2, 0, 10, 600));
  CHECK(l.connect("192.0.2.1", 0, false) == V::kOk);
  CHECK(l.connect("192.0.2.1", 0, false) == V::kOk);
  CHECK(l.connect("192.0.2.1", 0, false) == V::kTooManySessions);
  CHECK(l.connect("192.0.2.2", 0, false) == V::kOk);  // another address is not affected
  l.closed("192.0.2.1");
  CHECK(l.connect("192.0.2.1", 1, false) == V::kOk);
  // Exempt addresses have no limit.
  for (int i = 0; i < 10; ++i) CHECK(l.connect("127.0.0.1", 0, true) == V::kOk);
}

TEST_CASE("connection rate per address per minute; refused attempts count too") {
  ClientLimits l(settings(100, 3, 10, 600));
  for (int i = 0; i < 3; ++i) {
    CHECK(l.connect("192.0.2.1", 10 + i, false) == V::kOk);
    l.closed("192.0.2.1");
  }
  CHECK(l.connect("192.0.2.1", 20, false) == V::kRate);
  CHECK(l.connect("192.0.2.1", 69, false) == V::kRate);
  CHECK(l.connect("192.0.2.1", 70, false) == V::kOk);  // a new minute
  CHECK(l.connect("192.0.2.9", 20, false) == V::kOk);
  ClientLimits off(settings(100, 0, 10, 600));
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(off.connect("192.0.2.1", 0, false) == V::kOk);
    off.closed("192.0.2.1");
  }
}

TEST_CASE("AUTH failures: growing delay, then a block for block_time") {
  ClientLimits l(settings(100, 0, 5, 600));
  CHECK(l.auth_failed("192.0.2.1", 0, false).delay == 1);
  CHECK(l.auth_failed("192.0.2.1", 1, false).delay == 2);
  CHECK(l.auth_failed("192.0.2.1", 2, false).delay == 4);
  auto f4 = l.auth_failed("192.0.2.1", 3, false);
  CHECK(f4.delay == 8);
  CHECK_FALSE(f4.blocked);
  CHECK_FALSE(l.blocked("192.0.2.1", 3));
  auto f5 = l.auth_failed("192.0.2.1", 4, false);
  CHECK(f5.blocked);
  CHECK(l.blocked("192.0.2.1", 5));
  CHECK(l.connect("192.0.2.1", 5, false) == V::kBlocked);
  CHECK(l.connect("192.0.2.2", 5, false) == V::kOk);
  CHECK(l.blocked("192.0.2.1", 603));
  CHECK_FALSE(l.blocked("192.0.2.1", 604));
  CHECK(l.connect("192.0.2.1", 604, false) == V::kOk);
  // After the block the count starts again.
  CHECK(l.auth_failed("192.0.2.1", 605, false).delay == 1);
}

TEST_CASE("AUTH failures older than block_time are forgotten") {
  ClientLimits l(settings(100, 0, 3, 60));
  l.auth_failed("192.0.2.1", 0, false);
  l.auth_failed("192.0.2.1", 10, false);
  auto f = l.auth_failed("192.0.2.1", 65, false);  // the first one has expired
  CHECK_FALSE(f.blocked);
  CHECK(f.delay == 2);
}

TEST_CASE("an exempt address is delayed but never blocked") {
  ClientLimits l(settings(100, 0, 2, 600));
  for (int i = 0; i < 20; ++i) CHECK_FALSE(l.auth_failed("127.0.0.1", i, true).blocked);
  CHECK(l.auth_failed("127.0.0.1", 21, true).delay == 4);  // the count stops at the limit
  CHECK_FALSE(l.blocked("127.0.0.1", 22));
}

TEST_CASE("prune forgets quiet addresses, keeps live ones") {
  ClientLimits l(settings(100, 10, 5, 600));
  CHECK(l.connect("192.0.2.1", 0, false) == V::kOk);  // still open
  CHECK(l.connect("192.0.2.2", 0, false) == V::kOk);
  l.closed("192.0.2.2");
  l.auth_failed("192.0.2.3", 0, false);
  CHECK(l.size() == 3);
  l.prune(30);  // .2 is still inside its rate window
  CHECK(l.size() == 3);
  l.prune(61);
  CHECK(l.size() == 2);  // .1 open, .3 has a recent failure
  l.prune(601);
  CHECK(l.size() == 1);
  l.closed("192.0.2.1");
  l.prune(700);
  CHECK(l.size() == 0);
}
