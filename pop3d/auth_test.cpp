// Tests of login resolution against real accounts and password databases in a temporary
// directory, of the verifier thread, and of the failure throttle.
#include "pop3d/auth.hpp"

#include <doctest/doctest.h>
#include <poll.h>

#include <map>

#include "pop3d/test_support.hpp"

using namespace pop3d;
using namespace pop3d::testing;
namespace acc = common::accounts;

namespace {

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

TEST_CASE("Verifier: right and wrong passwords, unknown users; results through the pipe") {
  Accounts a;
  a.add_domain("example.test");
  a.add_user("bob@example.test", "right pw");
  Verifier v(std::move(a.accounts), std::move(a.passwords), "/mail");
  CHECK(v.check("bob@example.test", "right pw").outcome == AuthResult::Outcome::kOk);
  CHECK(v.check("bob@example.test", "right pw").maildir == "/mail/example.test/bob");
  CHECK(v.check("bob@example.test", "wrong").outcome == AuthResult::Outcome::kBadCredentials);
  CHECK(v.check("nobody@example.test", "right pw").outcome == AuthResult::Outcome::kBadCredentials);
  REQUIRE(v.start().is_ok());
  v.submit({7, "BOB@example.test", "right pw"});
  v.submit({8, "bob@example.test", "nope"});
  v.submit({9, "nobody@example.test", "right pw"});
  std::map<std::uint64_t, AuthResult> all;  // the worker threads answer in any order
  while (all.size() < 3) {
    pollfd p{v.notify_fd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    for (auto& d : v.take_results()) all[d.conn_id] = d.result;
  }
  CHECK(all[7].outcome == AuthResult::Outcome::kOk);
  CHECK(all[7].address == "bob@example.test");
  CHECK(all[8].outcome == AuthResult::Outcome::kBadCredentials);
  CHECK(all[9].outcome == AuthResult::Outcome::kBadCredentials);
}

TEST_CASE("Verifier: a recent success is remembered; a new password or a disabled user is not") {
  Accounts a;
  a.add_domain("example.test");
  a.add_user("bob@example.test", "right pw");
  auto* accounts = a.accounts.get();
  auto* passwords = a.passwords.get();
  Verifier v(std::move(a.accounts), std::move(a.passwords), "/mail");
  CHECK(v.check("bob@example.test", "right pw").outcome == AuthResult::Outcome::kOk);
  CHECK(v.full_checks() == 1);
  CHECK(v.check("Bob@Example.test", "right pw").outcome == AuthResult::Outcome::kOk);
  CHECK(v.cached_checks() == 1);  // no yescrypt this time
  CHECK(v.check("bob@example.test", "wrong").outcome == AuthResult::Outcome::kBadCredentials);
  CHECK(v.full_checks() == 2);  // failures always pay in full
  CHECK(v.check("bob@example.test", "right pw").outcome == AuthResult::Outcome::kOk);
  CHECK(v.cached_checks() == 2);
  // mailctl user passwd: the old password stops working at once.
  REQUIRE(passwords->set("bob@example.test", *acc::hash_password("new pw")).is_ok());
  CHECK(v.check("bob@example.test", "right pw").outcome == AuthResult::Outcome::kBadCredentials);
  CHECK(v.check("bob@example.test", "new pw").outcome == AuthResult::Outcome::kOk);
  CHECK(v.check("bob@example.test", "new pw").outcome == AuthResult::Outcome::kOk);
  CHECK(v.cached_checks() == 3);
  // A disabled account is refused even with a remembered password.
  auto u = accounts->user("bob@example.test");
  REQUIRE(u.is_ok());
  acc::User disabled = **u;
  disabled.disabled = true;
  REQUIRE(accounts->put_user(disabled).is_ok());
  CHECK(v.check("bob@example.test", "new pw").outcome == AuthResult::Outcome::kBadCredentials);
}

TEST_CASE("LoginThrottle: growing delay, block after 10 failures in 10 minutes") {
  LoginThrottle t;
  const std::string ip = "192.0.2.1";
  CHECK_FALSE(t.blocked(ip, 0));
  CHECK(t.delay(ip, 0) == 1.0);
  for (int i = 0; i < 4; ++i) t.record_failure(ip, i);
  CHECK(t.delay(ip, 5) == 2.0);
  for (int i = 4; i < 9; ++i) t.record_failure(ip, i);
  CHECK_FALSE(t.blocked(ip, 10));
  t.record_failure(ip, 9);
  CHECK(t.blocked(ip, 10));
  CHECK_FALSE(t.blocked("192.0.2.2", 10));  // per address
  CHECK(t.blocked(ip, 599));
  CHECK_FALSE(t.blocked(ip, 600.5));  // the first failure left the window
  CHECK_FALSE(t.blocked(ip, 2000));
  CHECK(t.delay(ip, 2000) == 1.0);
}
