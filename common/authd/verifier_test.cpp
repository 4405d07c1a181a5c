// The authentication daemon's decisions without sockets: login resolution against real
// accounts and password databases in a temporary directory, the verifier's threads and
// queue bound, and its cache of recent successes.
#include "common/authd/verifier.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdlib>
#include <map>

#include "common/io/event.hpp"

using namespace authd;
namespace acc = common::accounts;
using common::ipc::AuthResult;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/authd-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

struct Accounts {
  TempDir t;
  std::unique_ptr<acc::Accounts> accounts;
  std::unique_ptr<acc::Passwords> passwords;
  Accounts() {
    accounts = std::move(acc::Accounts::open(t.path + "/accounts.mdb", true).value());
    passwords = std::move(acc::Passwords::open(t.path + "/passwd.mdb", true).value());
  }
  void add_domain(const std::string& d, const std::string& alias_of = "") {
    acc::Domain dom;
    dom.name = d;
    dom.alias_of = alias_of;
    REQUIRE(accounts->put_domain(dom).is_ok());
  }
  void add_user(const std::string& address, const std::string& password, bool disabled = false,
                std::string maildir = "") {
    acc::User u;
    u.address = address;
    auto at = address.find('@');
    u.maildir = maildir.empty() ? address.substr(at + 1) + "/" + address.substr(0, at) : maildir;
    u.disabled = disabled;
    REQUIRE(accounts->put_user(u).is_ok());
    REQUIRE(passwords->set(address, *acc::hash_password(password)).is_ok());
  }
};

std::optional<std::string> resolve(Accounts& a, const std::string& name) {
  auto r = resolve_login(*a.accounts, "/var/mail/vhosts", name);
  REQUIRE(r.is_ok());
  if (!*r) return std::nullopt;
  return (*r)->address + " " + (*r)->maildir;
}

}  // namespace

TEST_CASE("resolve_login: full address, case, bare local part with one domain") {
  Accounts a;
  a.add_domain("example.test");
  a.add_domain("alias.test", "example.test");  // an alias domain does not count
  a.add_user("bob@example.test", "pw");
  a.add_user("off@example.test", "pw", true);
  a.add_user("evil@example.test", "pw", false, "../../etc");
  CHECK(resolve(a, "bob@example.test") == "bob@example.test /var/mail/vhosts/example.test/bob");
  CHECK(resolve(a, "Bob@Example.TEST") == "bob@example.test /var/mail/vhosts/example.test/bob");
  CHECK(resolve(a, "bob") == "bob@example.test /var/mail/vhosts/example.test/bob");
  CHECK_FALSE(resolve(a, "alice@example.test"));
  CHECK_FALSE(resolve(a, "off@example.test"));   // disabled
  CHECK_FALSE(resolve(a, "evil@example.test"));  // path traversal in the record
  CHECK_FALSE(resolve(a, "bob@"));
  CHECK_FALSE(resolve(a, "@example.test"));
  a.add_domain("other.test");
  CHECK_FALSE(resolve(a, "bob"));  // two real domains: ambiguous
}

TEST_CASE("Verifier: right and wrong passwords, unknown users; results on the loop thread") {
  Accounts a;
  a.add_domain("example.test");
  a.add_user("bob@example.test", "right pw");
  Verifier v(std::move(a.accounts), std::move(a.passwords), "/mail");
  CHECK(v.check("bob@example.test", "right pw").result == AuthResult::kOk);
  CHECK(v.check("bob@example.test", "right pw").maildir == "/mail/example.test/bob");
  CHECK(v.check("bob@example.test", "wrong").result == AuthResult::kBadCredentials);
  CHECK(v.check("nobody@example.test", "right pw").result == AuthResult::kBadCredentials);
  auto base = common::io::new_event_base();
  REQUIRE(v.start(base.get()).is_ok());
  std::map<int, Outcome> all;  // the worker threads answer in any order
  auto ask = [&](int id, const char* user, const char* pw) {
    REQUIRE(v.submit(user, pw, [&, id](const Outcome& r) {
      all[id] = r;
      if (all.size() == 3) event_base_loopbreak(base.get());
    }));
  };
  ask(7, "BOB@example.test", "right pw");
  ask(8, "bob@example.test", "nope");
  ask(9, "nobody@example.test", "right pw");
  timeval limit{20, 0};
  event_base_loopexit(base.get(), &limit);
  event_base_dispatch(base.get());
  REQUIRE(all.size() == 3);
  CHECK(all[7].result == AuthResult::kOk);
  CHECK(all[7].account == "bob@example.test");
  CHECK(all[8].result == AuthResult::kBadCredentials);
  CHECK(all[9].result == AuthResult::kBadCredentials);
}

TEST_CASE("Verifier: a recent success is remembered; a new password or a disabled user is not") {
  Accounts a;
  a.add_domain("example.test");
  a.add_user("bob@example.test", "right pw");
  auto* accounts = a.accounts.get();
  auto* passwords = a.passwords.get();
  Verifier v(std::move(a.accounts), std::move(a.passwords), "/mail");
  CHECK(v.check("bob@example.test", "right pw").result == AuthResult::kOk);
  CHECK(v.full_checks() == 1);
  CHECK(v.check("Bob@Example.test", "right pw").result == AuthResult::kOk);
  CHECK(v.cached_checks() == 1);  // no yescrypt this time
  CHECK(v.check("bob@example.test", "wrong").result == AuthResult::kBadCredentials);
  CHECK(v.full_checks() == 2);  // failures always pay in full
  CHECK(v.check("bob@example.test", "right pw").result == AuthResult::kOk);
  CHECK(v.cached_checks() == 2);
  // mailctl user passwd: the old password stops working at once.
  REQUIRE(passwords->set("bob@example.test", *acc::hash_password("new pw")).is_ok());
  CHECK(v.check("bob@example.test", "right pw").result == AuthResult::kBadCredentials);
  CHECK(v.check("bob@example.test", "new pw").result == AuthResult::kOk);
  CHECK(v.check("bob@example.test", "new pw").result == AuthResult::kOk);
  CHECK(v.cached_checks() == 3);
  // A disabled account is refused even with a remembered password.
  auto u = accounts->user("bob@example.test");
  REQUIRE(u.is_ok());
  acc::User disabled = **u;
  disabled.disabled = true;
  REQUIRE(accounts->put_user(disabled).is_ok());
  CHECK(v.check("bob@example.test", "new pw").result == AuthResult::kBadCredentials);
}

TEST_CASE("Verifier: a full queue refuses the check (the daemon answers a temporary failure)") {
  Accounts a;
  a.add_domain("example.test");
  a.add_user("bob@example.test", "right pw");
  Verifier v(std::move(a.accounts), std::move(a.passwords), "/mail", 1, 1);
  auto base = common::io::new_event_base();
  // Not started: nothing is taken off the queue, so the second check finds it full.
  CHECK(v.submit("bob@example.test", "x", [](const Outcome&) {}));
  CHECK_FALSE(v.submit("bob@example.test", "y", [](const Outcome&) {}));
}
