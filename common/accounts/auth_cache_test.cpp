// Unit tests for the cache of successful password checks (common/accounts/auth_cache):
// what hits and what misses, expiry and its refresh on use, the size bound.
#include "common/accounts/auth_cache.hpp"

#include <doctest/doctest.h>

#include <string>

using common::accounts::AuthCache;

namespace {

constexpr const char* kHash = "$y$j9T$saltsaltsalt$hashhashhashhashhashhashhashhashhashhashhas";

}  // namespace

TEST_CASE("auth cache: only the remembered account, hash and password hit") {
  AuthCache c;
  auto t0 = AuthCache::Clock::now();
  auto ok = c.ticket("bob@example.test", kHash, "right pw");
  CHECK_FALSE(c.check(ok, t0));  // nothing remembered yet
  c.remember(ok, t0);
  CHECK(c.check(c.ticket("bob@example.test", kHash, "right pw"), t0));
  CHECK_FALSE(c.check(c.ticket("bob@example.test", kHash, "wrong pw"), t0));
  CHECK_FALSE(c.check(c.ticket("bob@example.test", kHash, "right pw "), t0));
  CHECK_FALSE(c.check(c.ticket("bob@example.test", kHash, ""), t0));
  // The password changed (a new hash), even to the same password with a new salt.
  CHECK_FALSE(c.check(c.ticket("bob@example.test", "$y$j9T$othersalt$x", "right pw"), t0));
  CHECK_FALSE(c.check(c.ticket("alice@example.test", kHash, "right pw"), t0));
  // Where one field ends and the next begins is part of the digest.
  CHECK(c.ticket("a", "bc", "d").digest != c.ticket("ab", "c", "d").digest);
  CHECK(c.ticket("a", "b", "cd").digest != c.ticket("a", "bc", "d").digest);
  // A wrong password does not evict the right one.
  CHECK(c.check(ok, t0));
  CHECK(c.size() == 1);
}

TEST_CASE("auth cache: entries expire kTtl after their last use") {
  AuthCache c;
  auto t0 = AuthCache::Clock::now();
  auto t = c.ticket("bob@example.test", kHash, "pw");
  c.remember(t, t0);
  CHECK(c.check(t, t0 + AuthCache::kTtl - std::chrono::seconds(1)));  // used: lives on
  CHECK(c.check(t, t0 + 2 * AuthCache::kTtl - std::chrono::seconds(2)));
  CHECK_FALSE(c.check(t, t0 + 4 * AuthCache::kTtl));  // unused for longer than kTtl
  CHECK(c.size() == 0);
  c.remember(t, t0);
  CHECK_FALSE(c.check(t, t0 + AuthCache::kTtl));
}

TEST_CASE("auth cache: each process has its own key") {
  AuthCache a, b;
  CHECK(a.ticket("u", kHash, "pw").digest != b.ticket("u", kHash, "pw").digest);
  CHECK(a.ticket("u", kHash, "pw").digest == a.ticket("u", kHash, "pw").digest);
}

TEST_CASE("auth cache: at most kMaxEntries, expired ones go first") {
  AuthCache c;
  auto t0 = AuthCache::Clock::now();
  for (std::size_t i = 0; i < AuthCache::kMaxEntries; ++i)
    c.remember(c.ticket("old" + std::to_string(i), kHash, "pw"), t0);
  CHECK(c.size() == AuthCache::kMaxEntries);
  auto later = t0 + AuthCache::kTtl + std::chrono::seconds(1);
  auto fresh = c.ticket("fresh", kHash, "pw");
  c.remember(fresh, later);  // the full table sheds its expired entries
  CHECK(c.size() == 1);
  CHECK(c.check(fresh, later));
  for (std::size_t i = 0; i < 2 * AuthCache::kMaxEntries; ++i)
    c.remember(c.ticket("live" + std::to_string(i), kHash, "pw"), later);
  CHECK(c.size() == AuthCache::kMaxEntries);  // live entries are dropped rather than grow
}
