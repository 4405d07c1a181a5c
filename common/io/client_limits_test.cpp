// ClientLimits with a hand-driven clock: sessions per client, the per-minute connection
// rate, the login failure delay and block, attempts counted when they start (parallel
// sessions), IPv6 clients grouped by network, exemptions, and pruning.
#include "common/io/client_limits.hpp"

#include <doctest/doctest.h>

using common::io::ClientLimits;
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

// One whole failed check, started and finished at `now`.
ClientLimits::Failure fail(ClientLimits& l, const std::string& ip, double now, bool exempt) {
  if (l.auth_started(ip, now, exempt) != V::kOk) return ClientLimits::Failure{0, true};
  return l.auth_finished(ip, now, exempt, false);
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
  CHECK(fail(l, "192.0.2.1", 0, false).delay == 1);
  CHECK(fail(l, "192.0.2.1", 1, false).delay == 2);
  CHECK(fail(l, "192.0.2.1", 2, false).delay == 4);
  auto f4 = fail(l, "192.0.2.1", 3, false);
  CHECK(f4.delay == 8);
  CHECK_FALSE(f4.blocked);
  CHECK_FALSE(l.blocked("192.0.2.1", 3));
  auto f5 = fail(l, "192.0.2.1", 4, false);
  CHECK(f5.blocked);
  CHECK(l.blocked("192.0.2.1", 5));
  CHECK(l.connect("192.0.2.1", 5, false) == V::kBlocked);
  CHECK(l.connect("192.0.2.2", 5, false) == V::kOk);
  CHECK(l.blocked("192.0.2.1", 603));
  CHECK_FALSE(l.blocked("192.0.2.1", 604));
  CHECK(l.connect("192.0.2.1", 604, false) == V::kOk);
  // After the block the count starts again.
  CHECK(fail(l, "192.0.2.1", 605, false).delay == 1);
}

TEST_CASE("AUTH failures older than block_time are forgotten") {
  ClientLimits l(settings(100, 0, 3, 60));
  fail(l, "192.0.2.1", 0, false);
  fail(l, "192.0.2.1", 10, false);
  auto f = fail(l, "192.0.2.1", 65, false);  // the first one has expired
  CHECK_FALSE(f.blocked);
  CHECK(f.delay == 2);
}

TEST_CASE("an exempt address is delayed but never blocked") {
  ClientLimits l(settings(100, 0, 2, 600));
  for (int i = 0; i < 20; ++i) CHECK_FALSE(fail(l, "127.0.0.1", i, true).blocked);
  CHECK(fail(l, "127.0.0.1", 21, true).delay == 4);  // the count stops at the limit
  CHECK_FALSE(l.blocked("127.0.0.1", 22));
}

TEST_CASE("prune forgets quiet addresses, keeps live ones") {
  ClientLimits l(settings(100, 10, 5, 600));
  CHECK(l.connect("192.0.2.1", 0, false) == V::kOk);  // still open
  CHECK(l.connect("192.0.2.2", 0, false) == V::kOk);
  l.closed("192.0.2.2");
  fail(l, "192.0.2.3", 0, false);
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

TEST_CASE("after a failure, parallel checks count from their start: no more than the limit run") {
  ClientLimits l(settings(100, 0, 4, 600));
  // Many sessions logging in at once before any failure all get checked (NAT).
  for (int i = 0; i < 8; ++i) CHECK(l.auth_started("192.0.2.9", 0, false) == V::kOk);
  CHECK_FALSE(fail(l, "192.0.2.1", 0, false).blocked);
  CHECK(l.auth_started("192.0.2.1", 0, false) == V::kOk);
  CHECK(l.auth_started("192.0.2.1", 0, false) == V::kOk);
  CHECK(l.auth_started("192.0.2.1", 0, false) == V::kOk);
  CHECK(l.auth_started("192.0.2.1", 0, false) == V::kBlocked);  // a fifth session's attempt
  CHECK(l.auth_started("192.0.2.2", 0, false) == V::kOk);       // another client
  CHECK_FALSE(l.auth_finished("192.0.2.1", 1, false, false).blocked);
  CHECK_FALSE(l.auth_finished("192.0.2.1", 1, false, false).blocked);
  CHECK(l.auth_finished("192.0.2.1", 1, false, false).blocked);
  // The block applies to sessions already open: their next attempt is refused unchecked.
  CHECK(l.auth_started("192.0.2.1", 2, false) == V::kBlocked);
  CHECK(l.blocked("192.0.2.1", 2));
  // The failures are not forgotten when the block starts: they expire with it.
  CHECK(l.auth_started("192.0.2.1", 601, false) == V::kOk);
  CHECK(l.auth_finished("192.0.2.1", 601, false, true).delay == 0);  // a success
}

TEST_CASE("a success frees its slot without counting as a failure") {
  ClientLimits l(settings(100, 0, 2, 600));
  for (int i = 0; i < 10; ++i) {
    REQUIRE(l.auth_started("192.0.2.1", i, false) == V::kOk);
    CHECK_FALSE(l.auth_finished("192.0.2.1", i, false, true).blocked);
  }
  CHECK_FALSE(l.blocked("192.0.2.1", 10));
}

TEST_CASE("an exempt client's checks are never refused") {
  ClientLimits l(settings(100, 0, 1, 600));
  for (int i = 0; i < 5; ++i) CHECK(l.auth_started("127.0.0.1", 0, true) == V::kOk);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(l.auth_finished("127.0.0.1", 0, true, false).blocked);
}

TEST_CASE("IPv6 clients are counted by network") {
  ClientLimits l(settings(2, 0, 3, 600));
  CHECK(l.key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64");
  CHECK(l.key("192.0.2.1") == "192.0.2.1");
  CHECK(l.key("not an address") == "not an address");
  CHECK(l.connect("2001:db8:1:2::1", 0, false) == V::kOk);
  CHECK(l.connect("2001:db8:1:2:ffff:ffff:ffff:ffff", 0, false) == V::kOk);
  CHECK(l.connect("2001:db8:1:2::99", 0, false) == V::kTooManySessions);  // same /64
  CHECK(l.connect("2001:db8:1:3::1", 0, false) == V::kOk);                // another /64
  for (int i = 0; i < 3; ++i) fail(l, "2001:db8:1:2::" + std::to_string(i + 10), 1, false);
  CHECK(l.blocked("2001:db8:1:2::dead", 2));
  CHECK_FALSE(l.blocked("2001:db8:1:3::1", 2));
  l.closed("2001:db8:1:2::5");  // any address of the network closes one of its sessions
  CHECK(l.size() == 2);

  ClientLimits::Settings wide = settings(1, 0, 3, 600);
  wide.ipv6_prefix = 48;
  ClientLimits w(wide);
  CHECK(w.key("2001:db8:1:2::1") == "2001:db8:1::/48");
  wide.ipv6_prefix = 128;
  ClientLimits exact(wide);
  CHECK(exact.key("2001:db8::1") == "2001:db8::1");
  wide.ipv6_prefix = 60;
  ClientLimits odd(wide);
  CHECK(odd.key("2001:db8:1:2ff::1") == "2001:db8:1:2f0::/60");
}

TEST_CASE("block_connections = false: a blocked client still connects (its logins fail)") {
  ClientLimits::Settings st = settings(10, 0, 1, 600);
  st.block_connections = false;
  ClientLimits l(st);
  fail(l, "192.0.2.1", 0, false);
  CHECK(l.blocked("192.0.2.1", 1));
  CHECK(l.connect("192.0.2.1", 1, false) == V::kOk);
  CHECK(l.auth_started("192.0.2.1", 1, false) == V::kBlocked);
}
