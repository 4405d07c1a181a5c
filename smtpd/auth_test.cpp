// The AUTH password machinery with real yescrypt hashes and a real event loop: verdicts
// come back on the loop thread, the loop keeps running while the checks do, the queue
// bound holds, and the password store opens late and checks missing users as slowly as
// wrong passwords.
#include "smtpd/auth.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <thread>

#include "common/accounts/passwd.hpp"
#include "common/io/event.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;

namespace {

const std::string& test_hash() {
  static const std::string h = *common::accounts::hash_password("secret");
  return h;
}

}  // namespace

TEST_CASE("PasswordPool: verdicts arrive on the loop thread, which keeps running meanwhile") {
  auto base = common::io::new_event_base();
  std::map<std::uint64_t, bool> got;
  std::thread::id loop_thread = std::this_thread::get_id();
  bool wrong_thread = false;
  PasswordPool pool(base.get(), 2, 64, [&](std::uint64_t id, bool ok) {
    if (std::this_thread::get_id() != loop_thread) wrong_thread = true;
    got[id] = ok;
    if (got.size() == 6) event_base_loopexit(base.get(), nullptr);
  });
  REQUIRE(pool.start().is_ok());
  for (std::uint64_t i = 1; i <= 6; ++i) REQUIRE(pool.submit(i, test_hash(), i % 2 ? "secret" : "wrong"));

  // A timer every 2 ms counts how often the loop gets to run while the checks go on.
  struct Ticker {
    int ticks = 0;
  } t;
  common::io::EventPtr tick(event_new(
      base.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void* p) { ++static_cast<Ticker*>(p)->ticks; },
      &t));
  timeval every{0, 2000};
  evtimer_add(tick.get(), &every);
  auto t0 = std::chrono::steady_clock::now();
  event_base_dispatch(base.get());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  CHECK_FALSE(wrong_thread);
  REQUIRE(got.size() == 6);
  for (std::uint64_t i = 1; i <= 6; ++i) CHECK(got[i] == (i % 2 == 1));
  // Six yescrypt checks take tens of milliseconds; on a blocked loop the timer could not
  // have fired more than a handful of times.
  INFO("elapsed ", ms, " ms, ticks ", t.ticks);
  CHECK(t.ticks >= static_cast<int>(ms / 2 / 4));
}

TEST_CASE("PasswordPool: a full queue refuses more work") {
  auto base = common::io::new_event_base();
  PasswordPool pool(base.get(), 1, 2, [](std::uint64_t, bool) {});
  // Not started: nothing takes jobs off the queue.
  CHECK(pool.submit(1, test_hash(), "a"));
  CHECK(pool.submit(2, test_hash(), "b"));
  CHECK_FALSE(pool.submit(3, test_hash(), "c"));
}

TEST_CASE("PasswordStore: opens when the database appears; the dummy hash is a real one") {
  testing::TempDir tmp;
  std::string path = tmp.path() + "/passwd.mdb";
  PasswordStore store(path, nullptr);
  CHECK(store.dummy_hash().rfind("$y$", 0) == 0);
  CHECK_FALSE(common::accounts::check_password("", store.dummy_hash()));
  CHECK_FALSE(store.hash("alice@example.test").is_ok());  // no database yet
  {
    auto w = common::accounts::Passwords::open(path, true);
    REQUIRE(w.is_ok());
    REQUIRE((*w)->set("alice@example.test", test_hash()).is_ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the retry back-off
  auto h = store.hash("alice@example.test");
  REQUIRE(h.is_ok());
  CHECK(*h == std::optional<std::string>(test_hash()));
  auto none = store.hash("bob@example.test");
  REQUIRE(none.is_ok());
  CHECK_FALSE(none->has_value());
}
