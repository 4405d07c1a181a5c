// Policy decisions over an in-memory directory, plus one run over a real temporary
// accounts database (AccountsDirectory over common::accounts::Accounts).
#include <doctest/doctest.h>

#include "common/accounts/accounts.hpp"
#include "smtpd/accounts_directory.hpp"
#include "smtpd/policy.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using common::mail::Address;

namespace {

Address addr(const std::string& text) {
  auto a = common::mail::parse_mailbox(text, true);
  MB_CHECK(a.is_ok(), "test address");
  return *a;
}

Reply rcpt(Directory& dir, const std::string& text) {
  return check_recipient(SessionFacts{}, addr(text), dir, "mx.example.test");
}

}  // namespace

TEST_CASE("existing users and aliases of local domains are accepted (250 2.1.5)") {
  testing::MemoryDirectory dir;
  for (const char* a : {"alice@example.test", "Alice@example.test", "info@example.test"}) {
    CAPTURE(a);
    Reply r = rcpt(dir, a);
    CHECK(r.code == 250);
    CHECK(r.status == "2.1.5");
  }
}

TEST_CASE("unknown user of a local domain: 550 5.1.1") {
  testing::MemoryDirectory dir;
  Reply r = rcpt(dir, "nobody@example.test");
  CHECK(r.code == 550);
  CHECK(r.status == "5.1.1");
}

TEST_CASE("foreign domain: 550 5.7.1 Relay access denied (no relay control yet)") {
  testing::MemoryDirectory dir;
  for (const char* a : {"alice@other.test", "alice@sub.example.test", "postmaster@other.test",
                        "alice@[192.0.2.1]"}) {
    CAPTURE(a);
    Reply r = rcpt(dir, a);
    CHECK(r.code == 550);
    CHECK(r.status == "5.7.1");
    CHECK(r.text == "Relay access denied");
  }
}

TEST_CASE("RFC 5321 4.5.1 / RFC 2142: postmaster and abuse of every local domain") {
  testing::MemoryDirectory dir;
  CHECK(rcpt(dir, "postmaster@example.test").code == 250);
  CHECK(rcpt(dir, "PostMaster@example.test").code == 250);
  CHECK(rcpt(dir, "abuse@alias.test").code == 250);
  // The session maps a bare <Postmaster> to postmaster@<hostname>; always accepted.
  CHECK(rcpt(dir, "postmaster@mx.example.test").code == 250);
  CHECK(rcpt(dir, "abuse@mx.example.test").code == 550);  // hostname is not a local domain
}

TEST_CASE("domain alias, catch-all and disabled users") {
  testing::MemoryDirectory dir;
  CHECK(rcpt(dir, "bob@alias.test").code == 250);
  CHECK(rcpt(dir, "nobody@alias.test").code == 550);
  CHECK(rcpt(dir, "anything@catchall.test").code == 250);
  Reply r = rcpt(dir, "gone@example.test");
  CHECK(r.code == 550);
  CHECK(r.status == "5.2.1");
}

TEST_CASE("unreadable accounts database: 451 4.3.0") {
  testing::MemoryDirectory dir;
  dir.broken = true;
  Reply r = rcpt(dir, "alice@example.test");
  CHECK(r.code == 451);
  CHECK(r.status == "4.3.0");
}

TEST_CASE("RFC 1870 6.1: declared SIZE over the limit is 552 5.3.4") {
  MailArgs m;
  m.size = 1001;
  CHECK(check_sender(SessionFacts{}, m, 1000).code == 552);
  CHECK(check_sender(SessionFacts{}, m, 1000).status == "5.3.4");
  m.size = 1000;
  CHECK(check_sender(SessionFacts{}, m, 1000).code == 250);
  m.size.reset();
  CHECK(check_sender(SessionFacts{}, m, 1000).code == 250);
}

TEST_CASE("AccountsDirectory over a real LMDB accounts database") {
  testing::TempDir tmp;
  std::string path = tmp.path() + "/accounts.mdb";

  // Before the database exists every lookup fails: 451.
  AccountsDirectory missing(path, nullptr);
  CHECK(rcpt(missing, "alice@example.test").code == 451);

  {
    auto w = common::accounts::Accounts::open(path, true);
    REQUIRE(w.is_ok());
    common::accounts::Domain d;
    d.name = "example.test";
    REQUIRE((*w)->put_domain(d).is_ok());
    common::accounts::Domain da;
    da.name = "alias.test";
    da.alias_of = "example.test";
    REQUIRE((*w)->put_domain(da).is_ok());
    common::accounts::User u;
    u.address = "alice@example.test";
    u.maildir = "example.test/alice";
    REQUIRE((*w)->put_user(u).is_ok());
    common::accounts::User off;
    off.address = "gone@example.test";
    off.maildir = "example.test/gone";
    off.disabled = true;
    REQUIRE((*w)->put_user(off).is_ok());
    common::accounts::Alias al;
    al.address = "sales@example.test";
    al.targets = {"alice@example.test"};
    REQUIRE((*w)->put_alias(al).is_ok());
  }

  auto ro = common::accounts::Accounts::open(path, false);
  REQUIRE(ro.is_ok());
  AccountsDirectory dir(path, std::move(*ro));
  CHECK(rcpt(dir, "alice@example.test").code == 250);
  CHECK(rcpt(dir, "sales@example.test").code == 250);
  CHECK(rcpt(dir, "alice@alias.test").code == 250);
  CHECK(rcpt(dir, "postmaster@example.test").code == 250);
  CHECK(rcpt(dir, "bob@example.test").status == "5.1.1");
  CHECK(rcpt(dir, "gone@example.test").status == "5.2.1");
  CHECK(rcpt(dir, "alice@other.test").status == "5.7.1");

  // The directory opened lazily (after the 1 s back-off) finds the database too.
  AccountsDirectory lazy(path, nullptr);
  CHECK(rcpt(lazy, "alice@example.test").code == 250);
}
