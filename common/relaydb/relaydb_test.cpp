// Unit tests of the relay database: address normalisation, the relay rule, every
// operation, the dump parser, and three processes (a stamping writer, a reader and an
// expirer) working on one file at the same moment.
#include "common/relaydb/relaydb.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <set>
#include <string>

using common::relaydb::Entry;
using common::relaydb::RelayDb;
namespace rdb = common::relaydb;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/relaydb-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string db() const { return path + "/relay.mdb"; }
};

std::string norm(const char* s) {
  auto r = rdb::normalize(s);
  return r ? *r : "ERROR";
}

}  // namespace

TEST_CASE("normalize: IPv4, IPv6, mapped, brackets, junk") {
  CHECK(norm("10.11.12.13") == "10.11.12.13");
  CHECK(norm("2001:DB8:0:0:0:0:0:1") == "2001:db8::1");
  CHECK(norm("[2001:db8::1]") == "2001:db8::1");
  CHECK(norm("::1") == "::1");
  CHECK(norm("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(norm("::FFFF:c000:0207") == "192.0.2.7");
  CHECK(norm("010.1.1.1") == "ERROR");  // leading zero: octal or decimal? refuse
  CHECK(norm("1.2.3") == "ERROR");
  CHECK(norm("256.1.1.1") == "ERROR");
  CHECK(norm("example.org") == "ERROR");
  CHECK(norm("fe80::1%eth0") == "ERROR");
  CHECK(norm("10.0.0.0/8") == "ERROR");
  CHECK(norm("") == "ERROR");
  CHECK(norm(" 1.2.3.4") == "ERROR");
  CHECK(rdb::normalize(std::string_view("1.2.3.4\0", 8)).is_ok() == false);
}

TEST_CASE("from_sockaddr maps IPv4-mapped IPv6 peers to IPv4") {
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:198.51.100.9", &s6.sin6_addr);
  CHECK(rdb::from_sockaddr(reinterpret_cast<sockaddr*>(&s6)) == "198.51.100.9");
  inet_pton(AF_INET6, "2001:db8::a", &s6.sin6_addr);
  CHECK(rdb::from_sockaddr(reinterpret_cast<sockaddr*>(&s6)) == "2001:db8::a");
  sockaddr_in s4{};
  s4.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
  CHECK(rdb::from_sockaddr(reinterpret_cast<sockaddr*>(&s4)) == "127.0.0.1");
  sockaddr un{};
  un.sa_family = AF_UNIX;
  CHECK(rdb::from_sockaddr(&un).empty());
}

TEST_CASE("parse_ticks and parse_minutes") {
  CHECK(*rdb::parse_ticks("0") == 0);
  CHECK(*rdb::parse_ticks("1700000000") == 1700000000);
  CHECK(*rdb::parse_ticks("253402300799") == rdb::kMaxTicks);
  CHECK_FALSE(rdb::parse_ticks("253402300800").is_ok());
  CHECK_FALSE(rdb::parse_ticks("-1").is_ok());
  CHECK_FALSE(rdb::parse_ticks("12a").is_ok());
  CHECK_FALSE(rdb::parse_ticks("").is_ok());
  CHECK_FALSE(rdb::parse_ticks("99999999999999999999999").is_ok());
  CHECK(*rdb::parse_minutes("1440") == 1440);
  CHECK_FALSE(rdb::parse_minutes("+5").is_ok());
  CHECK_FALSE(rdb::parse_minutes("4223372036854775807").is_ok());
}

TEST_CASE("relay_allowed: younger than the lifetime, future stamps until their time") {
  const std::int64_t now = 1'000'000, life = 30 * 60;
  CHECK_FALSE(rdb::relay_allowed(std::nullopt, now, life));
  CHECK(rdb::relay_allowed(now, now, life));
  CHECK(rdb::relay_allowed(now - life + 1, now, life));
  CHECK_FALSE(rdb::relay_allowed(now - life, now, life));
  CHECK(rdb::relay_allowed(now + 86400, now, life));
  CHECK_FALSE(rdb::relay_allowed(now, now, 0));   // lifetime 0 grants nothing ever stamped
  CHECK(rdb::older_than(now, now, 0));            // expire 0 removes what was stamped now
  CHECK_FALSE(rdb::older_than(now + 1, now, 0));  // ... but not the future
}

TEST_CASE("stamp, lookup, erase, expire, scan") {
  TempDir dir;
  auto db = RelayDb::open(dir.db(), RelayDb::Mode::kWrite);
  REQUIRE_MESSAGE(db.is_ok(), db.message());
  auto& d = **db;
  CHECK(d.stamp("10.0.0.1", 100).is_ok());
  CHECK(d.stamp("10.0.0.2", 200).is_ok());
  CHECK(d.stamp("2001:db8::1", 300).is_ok());
  CHECK(d.stamp("10.0.0.1", 150).is_ok());  // overwrite
  CHECK(**d.lookup("10.0.0.1") == 150);
  CHECK_FALSE(d.lookup("10.0.0.9")->has_value());

  auto all = d.scan();
  REQUIRE(all.is_ok());
  CHECK(all->size() == 3);

  // A second handle, read-only, sees the same (as smtpd does).
  auto ro = RelayDb::open(dir.db(), RelayDb::Mode::kRead);
  REQUIRE_MESSAGE(ro.is_ok(), ro.message());
  CHECK(*rdb::allowed(**ro, "10.0.0.2", 250, 60));
  CHECK_FALSE(*rdb::allowed(**ro, "10.0.0.2", 260, 60));
  CHECK_FALSE(*rdb::allowed(**ro, "10.9.9.9", 250, 60));

  CHECK(*d.expire(200, 0) == 2);  // 150 and 200: age >= 0
  CHECK(d.scan()->size() == 1);
  std::vector<std::string> absent;
  CHECK(*d.erase({"2001:db8::1", "10.0.0.7"}, &absent) == 1);
  CHECK(absent == std::vector<std::string>{"10.0.0.7"});
  CHECK(d.scan()->empty());
  CHECK_FALSE(ro.value()->lookup("2001:db8::1")->has_value());
}

TEST_CASE("RelayChecker: smtpd's view, before and after the file exists") {
  TempDir dir;
  rdb::RelayChecker check(dir.db(), 1800);
  CHECK_FALSE(*check.allowed("192.0.2.1", 1000));  // no file yet: no relaying, no error
  CHECK_FALSE(check.allowed("not an address", 1000).is_ok());
  auto db = RelayDb::open(dir.db(), RelayDb::Mode::kWrite);
  REQUIRE(db.is_ok());
  REQUIRE(db.value()->stamp("192.0.2.1", 1000).is_ok());
  CHECK(*check.allowed("192.0.2.1", 1000));
  CHECK(*check.allowed("::ffff:192.0.2.1", 2799));
  CHECK_FALSE(*check.allowed("192.0.2.1", 2800));
  REQUIRE(db.value()->stamp("192.0.2.1", 5000).is_ok());  // seen without reopening
  CHECK(*check.allowed("192.0.2.1", 2800));
}

TEST_CASE("load replaces or merges in one transaction") {
  TempDir dir;
  auto db = RelayDb::open(dir.db(), RelayDb::Mode::kWrite);
  REQUIRE(db.is_ok());
  auto& d = **db;
  REQUIRE(d.stamp("10.0.0.1", 1).is_ok());
  REQUIRE(d.stamp("10.0.0.2", 2).is_ok());
  REQUIRE(d.load({{"10.0.0.2", 20}, {"10.0.0.3", 30}}, false).is_ok());
  CHECK(*d.scan() == std::vector<Entry>{{"10.0.0.1", 1}, {"10.0.0.2", 20}, {"10.0.0.3", 30}});
  REQUIRE(d.load({{"::1", 5}}, true).is_ok());
  CHECK(*d.scan() == std::vector<Entry>{{"::1", 5}});
  REQUIRE(d.load({}, true).is_ok());
  CHECK(d.scan()->empty());
}

TEST_CASE("read-only open of a missing file fails, of an empty LMDB file sees nothing") {
  TempDir dir;
  CHECK_FALSE(RelayDb::open(dir.db(), RelayDb::Mode::kRead).is_ok());
  {
    common::lmdb::EnvOptions opt;
    auto env = common::lmdb::Env::open(dir.db(), opt);  // a bare LMDB file, no sub-database
    REQUIRE(env.is_ok());
  }
  auto ro = RelayDb::open(dir.db(), RelayDb::Mode::kRead);
  REQUIRE_MESSAGE(ro.is_ok(), ro.message());
  CHECK(ro.value()->scan()->empty());
  CHECK_FALSE(ro.value()->lookup("1.2.3.4")->has_value());
  auto rw = RelayDb::open(dir.db(), RelayDb::Mode::kWrite);
  REQUIRE(rw.is_ok());
  REQUIRE(rw.value()->stamp("1.2.3.4", 7).is_ok());
  CHECK(**ro.value()->lookup("1.2.3.4") == 7);  // the reader finds the new sub-database
}

TEST_CASE("format_entry and parse_dump round trip") {
  std::vector<Entry> es = {{"10.11.12.13", 1700000000}, {"2001:db8::1", 0}};
  std::string text;
  for (const auto& e : es) text += rdb::format_entry(e);
  CHECK(text == "10.11.12.13\t1700000000\n2001:db8::1\t0\n");
  CHECK(*rdb::parse_dump(text, "f") == es);
}

TEST_CASE("parse_dump: hand-edited forms accepted") {
  auto r = rdb::parse_dump("# comment\n\n  10.0.0.1   5  \r\n::ffff:10.0.0.2\t6\n[::1] 7", "f");
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  CHECK(*r == std::vector<Entry>{{"10.0.0.1", 5}, {"10.0.0.2", 6}, {"::1", 7}});
}

TEST_CASE("parse_dump: every bad input names its line") {
  auto err = [](const char* text) {
    auto r = rdb::parse_dump(text, "in");
    return r ? std::string("OK") : r.message();
  };
  CHECK(err("10.0.0.1 5\nbogus 6\n") == "in:2: invalid address 'bogus'");
  CHECK(err("10.0.0.1\n") == "in:1: missing time stamp after '10.0.0.1'");
  CHECK(err("10.0.0.1 5x\n") == "in:1: bad time stamp '5x'");
  CHECK(err("10.0.0.1 -5\n") == "in:1: bad time stamp '-5'");
  CHECK(err("10.0.0.1 5 6\n") == "in:1: extra text after the time stamp");
  CHECK(err("10.0.0.1 5\n::ffff:10.0.0.1 6\n") == "in:2: duplicate address 10.0.0.1 (also on line 1)");
  CHECK(err("10.0.0.1 999999999999\n") == "in:1: time stamp out of range: '999999999999'");
  CHECK(err("1.2.3.\x01 5\n") == "in:1: invalid address '1.2.3.\\x01'");
}

// Three processes on one file, as in production: pop3d stamps (here: a writer stamping
// 2000 distinct addresses with the current time), smtpd reads (a reader checking that
// every lookup and scan succeeds and every value is well formed), cron expires (an
// expirer running `expire 1440` and removing a set of stale entries). Nothing the writer
// stamped may be lost; every stale entry must be gone; the file must stay readable.
TEST_CASE("a writer, a reader and an expirer at the same moment") {
  TempDir dir;
  const int kStale = 500, kFresh = 2000;
  {
    auto db = RelayDb::open(dir.db(), RelayDb::Mode::kWrite);
    REQUIRE(db.is_ok());
    std::vector<Entry> stale;
    for (int i = 0; i < kStale; ++i)
      stale.push_back({"10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250), 1000});
    REQUIRE(db.value()->load(stale, true).is_ok());
  }
  const std::int64_t now = std::time(nullptr);
  auto child = [&](int role) -> int {
    auto db = RelayDb::open(dir.db(), role == 1 ? RelayDb::Mode::kRead : RelayDb::Mode::kWrite);
    if (!db) return 10;
    for (int i = 0; i < kFresh; ++i) {
      if (role == 0) {
        std::string a = "2001:db8::" + std::to_string(i);
        if (!db.value()->stamp(*rdb::normalize(a), now)) return 11;
      } else if (role == 1) {
        auto all = db.value()->scan();
        if (!all) return 12;
        for (const auto& e : *all)
          if (!rdb::normalize(e.address) || *rdb::normalize(e.address) != e.address) return 13;
        if (!db.value()->lookup("10.1.0.1")) return 14;
      } else {
        if (!db.value()->expire(now, 1440 * 60)) return 15;
        if (i % 50 == 0) ::usleep(1000);
      }
    }
    return 0;
  };
  pid_t pids[3];
  for (int role = 0; role < 3; ++role) {
    pids[role] = ::fork();
    REQUIRE(pids[role] >= 0);
    if (pids[role] == 0) ::_exit(child(role));
  }
  for (int role = 0; role < 3; ++role) {
    int status = 0;
    REQUIRE(::waitpid(pids[role], &status, 0) == pids[role]);
    CHECK(WIFEXITED(status));
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, "role ", role, " failed with ", WEXITSTATUS(status));
  }
  auto db = RelayDb::open(dir.db(), RelayDb::Mode::kRead);
  REQUIRE(db.is_ok());
  auto all = db.value()->scan();
  REQUIRE(all.is_ok());
  CHECK(all->size() == static_cast<std::size_t>(kFresh));
  std::set<std::string> seen;
  for (const auto& e : *all) {
    CHECK(e.ticks == now);
    seen.insert(e.address);
  }
  CHECK(seen.size() == static_cast<std::size_t>(kFresh));
  CHECK(seen.count("2001:db8::1999") == 1);  // the last one written
}
