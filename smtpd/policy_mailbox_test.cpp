// Tests for the mailbox features in smtpd's policy: a full mailbox at RCPT
// (452 4.2.2), SRS recipients, per-domain limits, and AccountsDirectory over a real
// accounts.mdb with the local agent's quota flags, subaddressing and the SRS secret.
#include <doctest/doctest.h>

#include <fstream>

#include "common/accounts/accounts.hpp"
#include "common/io/fdio.hpp"
#include "common/mail/srs.hpp"
#include "common/maildir/quota_flags.hpp"
#include "smtpd/accounts_directory.hpp"
#include "smtpd/policy.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using smtpd::testing::MemoryDirectory;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";

struct SrsDirectory : MemoryDirectory {
  SrsDirectory() { rules.srs_secret = kSecret; }
};

common::mail::Address addr(const std::string& s) {
  auto a = common::mail::parse_mailbox(s);
  REQUIRE(a.is_ok());
  return *a;
}

SessionFacts stranger() {
  SessionFacts f;
  f.client_ip = "192.0.2.7";
  return f;
}

}  // namespace

TEST_CASE("a full mailbox is refused at RCPT with 452 4.2.2, others are not") {
  MemoryDirectory dir;
  dir.full.insert("alice@example.test");
  auto r = check_recipient(stranger(), addr("alice@example.test"), dir, {});
  CHECK(r.code == 452);
  CHECK(r.status == "4.2.2");
  CHECK(check_recipient(stranger(), addr("bob@example.test"), dir, {}).code == 250);
}

TEST_CASE("SRS recipients: ours accepted, forged or expired refused 550 5.1.1") {
  SrsDirectory dir;
  auto ours =
      common::mail::srs::forward(kSecret, "someone", "origin.example", "example.test", ::time(nullptr));
  REQUIRE(ours.is_ok());
  CHECK(check_recipient(stranger(), addr(*ours), dir, {}).code == 250);
  auto old = common::mail::srs::forward(kSecret, "someone", "origin.example", "example.test",
                                        ::time(nullptr) - 40 * 86400);
  auto r = check_recipient(stranger(), addr(*old), dir, {});
  CHECK(r.code == 550);
  CHECK(r.status == "5.1.1");
  CHECK(
      check_recipient(stranger(), addr("SRS0=AAAAAA=AA=origin.example=someone@example.test"), dir, {}).code ==
      550);
  // Without the secret nothing can be checked: try later (the local agent would defer).
  MemoryDirectory plain;
  auto unsure = check_recipient(stranger(), addr(*ours), plain, {});
  CHECK(unsure.code == 451);
  CHECK(unsure.status == "4.3.0");
}

TEST_CASE("SRS addresses take only bounces: mail with a sender is refused 550 5.7.1") {
  SrsDirectory dir;
  auto ours =
      common::mail::srs::forward(kSecret, "someone", "origin.example", "example.test", ::time(nullptr));
  REQUIRE(ours.is_ok());
  common::mail::Address null_sender;
  // A bounce to the rewritten sender goes back to the original one.
  CHECK(check_recipient(stranger(), addr(*ours), dir, {}).code == 250);
  CHECK_FALSE(check_srs_return(stranger(), addr(*ours), null_sender));
  // Anyone who saw the address must not use it to send to the original sender.
  auto r = check_srs_return(stranger(), addr(*ours), addr("spammer@elsewhere.example"));
  REQUIRE(r);
  CHECK(r->code == 550);
  CHECK(r->status == "5.7.1");
  // A client that may relay anyway gains nothing from it; ordinary recipients are untouched.
  SessionFacts net;
  net.relay_network = true;
  CHECK_FALSE(check_srs_return(net, addr(*ours), addr("user@example.test")));
  CHECK_FALSE(check_srs_return(stranger(), addr("bob@example.test"), addr("spammer@elsewhere.example")));
}

TEST_CASE("per-domain limits: recipients per domain, declared size, an authenticated sender's own domain") {
  MemoryDirectory dir;
  dir.db.domain_map["example.test"].max_recipients = 2;
  dir.db.domain_map["example.test"].max_message_size = 1000;
  std::vector<common::mail::Address> earlier = {addr("alice@example.test"), addr("x@other.example")};
  CHECK_FALSE(
      check_domain_limits(stranger(), addr("bob@example.test"), earlier, std::nullopt, dir).has_value());
  earlier.push_back(addr("bob@example.test"));
  auto r = check_domain_limits(stranger(), addr("info@example.test"), earlier, std::nullopt, dir);
  REQUIRE(r.has_value());
  CHECK(r->code == 452);
  CHECK(r->status == "4.5.3");
  // The alias domain counts with its target's limits, by its own name.
  CHECK_FALSE(check_domain_limits(stranger(), addr("alice@alias.test"), earlier, 999, dir).has_value());
  auto big = check_domain_limits(stranger(), addr("alice@alias.test"), {}, 1001, dir);
  REQUIRE(big.has_value());
  CHECK(big->code == 552);
  CHECK(big->status == "5.3.4");
  // A user of example.test sending elsewhere: at most 2 recipients per message.
  SessionFacts auth = stranger();
  auth.auth_user = "alice@example.test";
  CHECK_FALSE(check_domain_limits(auth, addr("a@far.example"), {addr("b@far.example")}, std::nullopt, dir)
                  .has_value());
  auto many = check_domain_limits(auth, addr("c@far.example"), {addr("a@far.example"), addr("b@far.example")},
                                  std::nullopt, dir);
  REQUIRE(many.has_value());
  CHECK(many->code == 452);
  dir.broken = true;
  auto broken = check_domain_limits(stranger(), addr("bob@example.test"), {}, std::nullopt, dir);
  REQUIRE(broken.has_value());
  CHECK(broken->code == 451);
}

TEST_CASE("AccountsDirectory: full flags, subaddresses, SRS secret, domain limits") {
  testing::TempDir tmp;
  std::string db = tmp.path() + "/accounts.mdb";
  {
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    common::accounts::Domain d;
    d.name = "example.test";
    d.max_recipients = 7;
    d.max_message_size = 5000;
    REQUIRE((*a)->put_domain(d).is_ok());
    common::accounts::User u;
    u.address = "alice@example.test";
    u.maildir = "example.test/alice";
    REQUIRE((*a)->put_user(u).is_ok());
  }
  std::string flags = tmp.path() + "/quota";
  REQUIRE(common::io::make_dirs(flags, 0750).is_ok());
  AccountsDirectory dir(db, nullptr);
  auto cfg = common::config::defaults();
  cfg.hostname = "mx.example.test";
  cfg.recipient_delimiter = "+";
  dir.set_local_rules(flags, kSecret, cfg);
  auto rcpt = [&](const std::string& a) { return check_recipient(stranger(), addr(a), dir, {}); };
  CHECK(rcpt("alice@example.test").code == 250);
  REQUIRE(common::maildir::set_full_flag(flags, "alice@example.test", 10, 10, 0).is_ok());
  CHECK(rcpt("alice@example.test").code == 452);
  // user+tag finds the user, and with it its flag.
  CHECK(rcpt("alice+lists@example.test").code == 452);
  CHECK(rcpt("bob+x@example.test").code == 550);
  CHECK(rcpt("+x@example.test").code == 550);
  // The sender check over the real database.
  auto other = dir.sends_as("alice@example.test", addr("bob@example.test"));
  REQUIRE(other.is_ok());
  CHECK_FALSE(*other);
  auto d = dir.domain("example.test");
  REQUIRE(d.is_ok());
  CHECK((*d)->max_recipients == 7);
  CHECK((*d)->max_message_size == 5000);
  auto srs = common::mail::srs::forward(kSecret, "x", "y.example", "example.test", ::time(nullptr));
  REQUIRE(srs.is_ok());
  CHECK(rcpt(*srs).code == 250);
  CHECK(rcpt("SRS0=AAAAAA=AA=y.example=x@example.test").code == 550);
}
