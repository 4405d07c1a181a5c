// Tests of relayctl's commands against a temporary relay database with a fixed clock:
// every command, every bad input (exit 2, database unchanged), and the dump/load round
// trip. The binary itself is exercised by tests/integration/test_relayctl.py.
#include "relayctl/cli.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "common/relaydb/relaydb.hpp"

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

struct Fixture {
  std::string dir;
  relayctl::Context ctx;
  std::string stdin_text;
  Fixture() {
    char tmpl[] = "/tmp/relayctl-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ctx.db_path = dir + "/relay.mdb";
    ctx.now = kNow;
    ctx.lifetime = 30 * 60;
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }

  struct Ran {
    int code;
    std::string out, err;
  };
  Ran run(std::vector<std::string> args) {
    relayctl::Output o;
    int code = relayctl::run(args, ctx, o, [this]() -> common::Result<std::string> { return stdin_text; });
    return {code, o.out, o.err};
  }
  std::string dump() {
    auto r = run({"dump"});
    REQUIRE(r.code == 0);
    return r.out;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
};

}  // namespace

TEST_CASE("add with the current time or given ticks; IPv6 and mapped addresses normalised") {
  Fixture f;
  CHECK(f.run({"add", "10.11.12.13"}).code == 0);
  CHECK(f.run({"add", "2001:DB8::0:1", "1234"}).code == 0);
  CHECK(f.run({"add", "::ffff:192.0.2.1", "1800000000"}).code == 0);
  CHECK(f.dump() == "10.11.12.13\t1700000000\n192.0.2.1\t1800000000\n2001:db8::1\t1234\n");
}

TEST_CASE("list: entries older than n minutes, default all not in the future") {
  Fixture f;
  f.run({"add", "10.0.0.1", std::to_string(kNow - 3600)});
  f.run({"add", "10.0.0.2", std::to_string(kNow - 60)});
  f.run({"add", "10.0.0.3", std::to_string(kNow)});
  f.run({"add", "10.0.0.4", std::to_string(kNow + 60)});
  // Without n: older than relay_lifetime (30 minutes here), what expire would drop.
  CHECK(f.run({"list"}).out == "10.0.0.1\t1699996400\n");
  CHECK(f.run({"list", "0"}).out == "10.0.0.1\t1699996400\n10.0.0.2\t1699999940\n10.0.0.3\t1700000000\n");
  CHECK(f.run({"list", "1"}).out == "10.0.0.1\t1699996400\n10.0.0.2\t1699999940\n");
  CHECK(f.run({"list", "2"}).out == "10.0.0.1\t1699996400\n");
  CHECK(f.run({"list", "60"}).out == "10.0.0.1\t1699996400\n");
  CHECK(f.run({"list", "61"}).out.empty());
  CHECK(f.run({"dump"}).out.find("10.0.0.4\t1700000060\n") != std::string::npos);
}

TEST_CASE("expire: default lifetime, n minutes, 0 = everything not in the future") {
  Fixture f;
  f.run({"add", "10.0.0.1", std::to_string(kNow - 3600)});
  f.run({"add", "10.0.0.2", std::to_string(kNow - 600)});
  f.run({"add", "10.0.0.3", std::to_string(kNow)});
  f.run({"add", "10.0.0.4", std::to_string(kNow + 60)});
  auto r = f.run({"expire"});  // 30 minutes
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(f.dump() == "10.0.0.2\t1699999400\n10.0.0.3\t1700000000\n10.0.0.4\t1700000060\n");
  CHECK(f.run({"expire", "10"}).code == 0);
  CHECK(f.dump() == "10.0.0.3\t1700000000\n10.0.0.4\t1700000060\n");
  CHECK(f.run({"expire", "0"}).code == 0);
  CHECK(f.dump() == "10.0.0.4\t1700000060\n");
}

TEST_CASE("delete: several at once, absent ones reported with exit 1") {
  Fixture f;
  f.run({"add", "10.0.0.1"});
  f.run({"add", "10.0.0.2"});
  f.run({"add", "::1"});
  CHECK(f.run({"delete", "10.0.0.1", "0:0::1"}).code == 0);
  CHECK(f.dump() == "10.0.0.2\t1700000000\n");
  auto r = f.run({"delete", "10.0.0.2", "10.0.0.9"});
  CHECK(r.code == relayctl::kExitNotFound);
  CHECK(r.err == "relayctl: 10.0.0.9: not in the relay database\n");
  CHECK(f.dump().empty());
}

TEST_CASE("every bad input: exit 2, a clear message, the database unchanged") {
  Fixture f;
  f.run({"add", "10.0.0.1", "5"});
  const std::string before = f.dump();
  struct Case {
    std::vector<std::string> args;
    std::string msg;
  };
  const std::string missing = f.dir + "/no-such-file";
  const std::string bad = f.write("bad.txt", "10.0.0.2\t7\nnot-an-ip\t8\n");
  std::vector<Case> cases = {
      {{}, "relayctl: no command given\n"},
      {{"frobnicate"}, "relayctl: unknown command 'frobnicate'\n"},
      {{"add"}, "relayctl: add takes an address and an optional time\n"},
      {{"add", "1.2.3.4", "5", "6"}, "relayctl: add takes an address and an optional time\n"},
      {{"add", "1.2.3.400"}, "relayctl: invalid address '1.2.3.400'\n"},
      {{"add", "mail.example.org"}, "relayctl: invalid address 'mail.example.org'\n"},
      {{"add", "1.2.3.4", "-5"}, "relayctl: bad time stamp '-5'\n"},
      {{"add", "1.2.3.4", "12x"}, "relayctl: bad time stamp '12x'\n"},
      {{"add", "1.2.3.4", "99999999999999"}, "relayctl: time stamp out of range: '99999999999999'\n"},
      {{"delete"}, "relayctl: delete takes one or more addresses\n"},
      {{"delete", "10.0.0.1", "bogus"}, "relayctl: invalid address 'bogus'\n"},
      {{"expire", "x"}, "relayctl: bad number of minutes 'x'\n"},
      {{"expire", "1", "2"}, "relayctl: expire takes at most one number of minutes\n"},
      {{"list", "-1"}, "relayctl: bad number of minutes '-1'\n"},
      {{"dump", "x"}, "relayctl: dump takes no arguments\n"},
      {{"load"}, "relayctl: load takes [-m] and one file name (or - for stdin)\n"},
      {{"load", missing},
       "relayctl: cannot read " + missing + ": open " + missing + ": No such file or directory\n"},
      {{"load", bad}, "relayctl: " + bad + ":2: invalid address 'not-an-ip' (nothing loaded)\n"},
  };
  for (const auto& c : cases) {
    auto r = f.run(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    INFO("relayctl ", joined);
    CHECK(r.code == relayctl::kExitUsage);
    CHECK(r.err.rfind(c.msg, 0) == 0);
    CHECK(r.out.empty());
    CHECK(f.dump() == before);
  }
}

TEST_CASE("load: the dump, edited by hand, loads back; -m merges; - reads stdin") {
  Fixture f;
  f.run({"add", "10.0.0.1", "100"});
  f.run({"add", "10.0.0.2", "200"});
  f.run({"add", "2001:db8::5", "300"});
  std::string text = f.dump();
  // The administrator edits: drops one line, changes a time, adds a v6 and a comment.
  std::string edited = "# cleaned up by hand\n10.0.0.1\t150\n2001:db8::5\t300\n2001:db8::6  400\n";
  auto p = f.write("edited.txt", edited);
  CHECK(f.run({"load", p}).code == 0);
  CHECK(f.dump() == "10.0.0.1\t150\n2001:db8::5\t300\n2001:db8::6\t400\n");

  f.stdin_text = "10.0.0.9\t900\n10.0.0.1\t151\n";
  CHECK(f.run({"load", "-m", "-"}).code == 0);
  CHECK(f.dump() == "10.0.0.1\t151\n10.0.0.9\t900\n2001:db8::5\t300\n2001:db8::6\t400\n");

  // Round trip: dump -> load -> dump is the identity.
  std::string d1 = f.dump();
  f.stdin_text = d1;
  CHECK(f.run({"load", "-"}).code == 0);
  CHECK(f.dump() == d1);
  // An empty file empties the database.
  CHECK(f.run({"load", f.write("empty", "")}).code == 0);
  CHECK(f.dump().empty());
}

TEST_CASE("list and dump of a database that does not exist yet are empty") {
  Fixture f;
  auto r = f.run({"list"});
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(f.run({"dump"}).out.empty());
  CHECK(::access(f.ctx.db_path.c_str(), F_OK) != 0);  // and were not created
}

TEST_CASE("a database that cannot be opened: exit 3") {
  Fixture f;
  f.ctx.db_path = f.dir + "/no-such-dir/relay.mdb";
  auto r = f.run({"add", "10.0.0.1"});
  CHECK(r.code == relayctl::kExitError);
  CHECK(r.err.find("relay.mdb") != std::string::npos);
}
