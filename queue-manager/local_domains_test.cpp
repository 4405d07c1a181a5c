// Unit tests of the queue manager's local domains (local_domains.hpp) with a real event
// loop: on LMDB the accounts are asked each time; on PostgreSQL the list read at start
// answers, a domain added later is seen after the next refresh (once a second, off the
// loop), and while the database cannot be read the last list keeps serving.
#include "queue-manager/local_domains.hpp"

#include <doctest/doctest.h>

#include <mutex>

#include "common/io/event.hpp"

using common::accounts::Transport;

namespace {

// Accounts that the database thread reads while the test changes them.
class SharedLookup : public common::accounts::MemoryLookup {
 public:
  common::Result<std::vector<common::accounts::Domain>> domains() override {
    std::lock_guard<std::mutex> g(mu);
    ++reads;
    return MemoryLookup::domains();
  }
  common::Result<std::optional<common::accounts::Domain>> domain(const std::string& name) override {
    std::lock_guard<std::mutex> g(mu);
    ++reads;
    return MemoryLookup::domain(name);
  }
  std::mutex mu;
  int reads = 0;
};

common::config::Config config(bool postgresql) {
  common::config::Config cfg;
  cfg.hostname = "mx.example.test";
  cfg.accounts_backend =
      postgresql ? common::config::AccountsBackend::kPostgresql : common::config::AccountsBackend::kLmdb;
  cfg.postgresql_timeout = 5;
  return cfg;
}

Transport of(qmgr::LocalDomains& d, const std::string& a) {
  auto t = d.transport(a);
  REQUIRE(t.is_ok());
  return *t;
}

void run_for(event_base* base, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

}  // namespace

TEST_CASE("local domains on LMDB: the accounts are asked each time") {
  auto base = common::io::new_event_base();
  SharedLookup db;
  db.add_domain("example.test");
  auto cfg = config(false);
  qmgr::LocalDomains d(base.get(), cfg, db);
  REQUIRE(d.start().is_ok());
  CHECK(of(d, "bob@example.test") == Transport::kLocal);
  CHECK(of(d, "bob@far.example") == Transport::kRemote);
  CHECK(of(d, "postmaster@mx.example.test") == Transport::kLocal);
  db.add_domain("new.test");
  CHECK(of(d, "bob@new.test") == Transport::kLocal);  // at once
  db.broken = true;
  CHECK_FALSE(d.transport("bob@example.test").is_ok());
}

TEST_CASE("local domains on PostgreSQL: the list in memory, refreshed off the loop, kept while unreadable") {
  auto base = common::io::new_event_base();
  SharedLookup db;
  db.add_domain("example.test");
  db.add_domain("alias.test", "example.test");
  auto cfg = config(true);
  qmgr::LocalDomains d(base.get(), cfg, db);
  REQUIRE(d.start().is_ok());  // reads the list once, before the loop runs
  CHECK(of(d, "bob@example.test") == Transport::kLocal);
  CHECK(of(d, "bob@ALIAS.test") == Transport::kLocal);
  CHECK(of(d, "bob@far.example") == Transport::kRemote);
  CHECK(of(d, "bob@[192.0.2.1]") == Transport::kRemote);
  CHECK(of(d, "postmaster@mx.example.test") == Transport::kLocal);
  int reads = 0;
  {
    std::lock_guard<std::mutex> g(db.mu);
    reads = db.reads;
    db.add_domain("new.test");
  }
  CHECK(of(d, "bob@new.test") == Transport::kRemote);  // not asked on the loop
  {
    std::lock_guard<std::mutex> g(db.mu);
    CHECK(db.reads == reads);
  }
  run_for(base.get(), 1500);
  CHECK(of(d, "bob@new.test") == Transport::kLocal);
  {
    std::lock_guard<std::mutex> g(db.mu);
    db.broken = true;
  }
  run_for(base.get(), 1500);
  CHECK(of(d, "bob@new.test") == Transport::kLocal);  // the last list serves
  CHECK(of(d, "bob@far.example") == Transport::kRemote);
}

TEST_CASE("local domains on PostgreSQL: a database unreadable at start defers until a refresh can read it") {
  auto base = common::io::new_event_base();
  SharedLookup db;
  db.add_domain("example.test");
  db.broken = true;
  auto cfg = config(true);
  qmgr::LocalDomains d(base.get(), cfg, db);
  REQUIRE(d.start().is_ok());
  CHECK_FALSE(d.transport("bob@example.test").is_ok());  // 4.3.0 in the Core
  {
    std::lock_guard<std::mutex> g(db.mu);
    db.broken = false;
  }
  run_for(base.get(), 1500);
  CHECK(of(d, "bob@example.test") == Transport::kLocal);
}
