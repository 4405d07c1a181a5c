// Tests for the local agent's recipients (recipients.hpp, the address book) against a real accounts database:
// users, aliases (fan-out, remote targets, nesting), domain aliases, subaddressing,
// catch-all, postmaster@/abuse@ defaults, forwarding with and without a copy, SRS
// returns, and every kind of loop.
#include "delivery/local/recipients.hpp"

#include <doctest/doctest.h>

#include "common/mail/srs.hpp"
#include "delivery/test_support.hpp"

using namespace delivery::local;
using common::accounts::kMaxDepth;
using common::mail::Outcome;
using delivery::testing::TempDir;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";

struct World {
  TempDir dir;
  std::string db = dir.path + "/accounts.mdb";
  std::unique_ptr<common::accounts::Accounts> w;
  World() {
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    w = std::move(*a);
    domain("example.org");
    domain("example.net", "example.org");  // domain alias
    domain("mail.example.org");
    for (const char* u : {"alice", "bob", "carol"}) user(std::string(u) + "@example.org");
  }
  void domain(const std::string& name, const std::string& alias_of = "", const std::string& catchall = "") {
    common::accounts::Domain d;
    d.name = name;
    d.alias_of = alias_of;
    d.catchall = catchall;
    d.max_message_size = name == "example.org" ? 12345 : 0;
    REQUIRE(w->put_domain(d).is_ok());
  }
  common::accounts::User& user(const std::string& address) {
    users[address].address = address;
    users[address].maildir =
        address.substr(address.find('@') + 1) + "/" + address.substr(0, address.find('@'));
    REQUIRE(w->put_user(users[address]).is_ok());
    return users[address];
  }
  void save(const std::string& address) { REQUIRE(w->put_user(users[address]).is_ok()); }
  void alias(const std::string& address, std::vector<std::string> targets) {
    common::accounts::Alias a;
    a.address = address;
    a.targets = std::move(targets);
    REQUIRE(w->put_alias(a).is_ok());
  }
  // Recipients over the database as it is now (one LMDB environment per process file:
  // the writer is closed first and re-opened after).
  Resolution resolve(const std::string& rcpt, const std::set<std::string>& marks = {},
                     RecipientsConfig cfg = RecipientsConfig{}) {
    w.reset();
    cfg.accounts_path = db;
    cfg.mail_root = "/mail";
    Resolution r;
    {
      Recipients res(cfg);
      r = res.expand(rcpt, marks, ::time(nullptr));
    }
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    w = std::move(*a);
    return r;
  }
  std::map<std::string, common::accounts::User> users;
};

using V = std::vector<std::string>;

void check_failure(const Resolution& r, Outcome o, const std::string& status) {
  REQUIRE(r.failure.has_value());
  CHECK(r.failure->outcome == o);
  CHECK(r.failure->status == status);
}

}  // namespace

TEST_CASE("a user: one mailbox, with its path, limits and the addresses that lead to it") {
  World w;
  w.users["alice@example.org"].quota = 5000;
  w.save("alice@example.org");
  auto r = w.resolve("Alice@Example.ORG");
  REQUIRE_FALSE(r.failure.has_value());
  REQUIRE(r.mailbox.has_value());
  CHECK(r.mailbox->address == "alice@example.org");
  CHECK(r.mailbox->path == "/mail/example.org/alice");
  CHECK(r.mailbox->store);
  CHECK(r.mailbox->quota == 5000);
  CHECK(r.mailbox->max_message_size == 12345);
  CHECK(r.mailbox->known_as.count("alice@example.org"));
  CHECK(r.local_targets.empty());
  CHECK(r.remote_targets.empty());
  check_failure(w.resolve("nobody@example.org"), Outcome::kPermanent, "5.1.1");
  check_failure(w.resolve("not an address"), Outcome::kPermanent, "5.1.3");
  check_failure(w.resolve("x@unknown.example"), Outcome::kPermanent, "5.1.1");
}

TEST_CASE("aliases: one user directly, several users each on their own, remote targets") {
  World w;
  w.alias("sales@example.org", {"alice@example.org"});
  w.alias("team@example.org", {"alice@example.org", "Bob@example.org", "sales@example.org"});
  w.alias("mixed@example.org", {"carol@example.org", "Friend@Far.Example"});
  auto one = w.resolve("sales@example.org");
  REQUIRE(one.mailbox.has_value());
  CHECK(one.mailbox->address == "alice@example.org");
  CHECK(one.mailbox->known_as.count("sales@example.org"));
  CHECK(one.delivered_to == V{"sales@example.org"});
  auto team = w.resolve("team@example.org");
  CHECK_FALSE(team.mailbox.has_value());
  CHECK(team.local_targets == V{"alice@example.org", "bob@example.org"});  // alice once
  auto mixed = w.resolve("mixed@example.org");
  REQUIRE(mixed.mailbox.has_value());
  CHECK(mixed.mailbox->address == "carol@example.org");
  CHECK(mixed.remote_targets == V{"Friend@far.example"});
  CHECK(mixed.srs_domain == "example.org");
  CHECK_FALSE(mixed.keep_sender);
}

TEST_CASE("domain alias, subaddress, catch-all") {
  World w;
  auto r = w.resolve("bob@example.net");
  REQUIRE(r.mailbox.has_value());
  CHECK(r.mailbox->address == "bob@example.org");
  auto tag = w.resolve("bob+lists@example.net");
  REQUIRE(tag.mailbox.has_value());
  CHECK(tag.mailbox->address == "bob@example.org");
  RecipientsConfig off;
  off.recipient_delimiter = "";
  check_failure(w.resolve("bob+lists@example.org", {}, off), Outcome::kPermanent, "5.1.1");
  RecipientsConfig dash;
  dash.recipient_delimiter = "-+";
  CHECK(w.resolve("bob-x@example.org", {}, dash).mailbox.has_value());
  check_failure(w.resolve("+x@example.org"), Outcome::kPermanent, "5.1.1");
  w.domain("example.org", "", "carol@example.org");
  auto c = w.resolve("anything@example.org");
  REQUIRE(c.mailbox.has_value());
  CHECK(c.mailbox->address == "carol@example.org");
  // Known addresses are not caught.
  CHECK(w.resolve("bob@example.org").mailbox->address == "bob@example.org");
  // A catch-all pointing nowhere fails, rather than going round.
  w.domain("example.org", "", "ghost@example.org");
  check_failure(w.resolve("anything@example.org"), Outcome::kPermanent, "5.1.1");
}

TEST_CASE("postmaster@ and abuse@ of every domain") {
  World w;
  RecipientsConfig cfg;
  cfg.postmaster_address = "carol@example.org";
  CHECK(w.resolve("postmaster@example.net", {}, cfg).mailbox->address == "carol@example.org");
  CHECK(w.resolve("abuse@example.org", {}, cfg).mailbox->address == "carol@example.org");
  // Unset: postmaster@<hostname>, when the hostname is one of our domains.
  RecipientsConfig host;
  host.hostname = "mail.example.org";
  w.user("postmaster@mail.example.org");
  CHECK(w.resolve("postmaster@example.org", {}, host).mailbox->address == "postmaster@mail.example.org");
  RecipientsConfig foreign;
  foreign.hostname = "mx.elsewhere.example";
  check_failure(w.resolve("postmaster@example.org", {}, foreign), Outcome::kPermanent, "5.1.1");
  // A real user or alias of that name wins.
  w.alias("abuse@example.org", {"bob@example.org"});
  CHECK(w.resolve("abuse@example.org", {}, cfg).mailbox->address == "bob@example.org");
}

TEST_CASE("forwarding: with a copy, without, to local users, back to itself") {
  World w;
  auto& a = w.user("alice@example.org");
  a.forward = {"far@away.example", "bob@example.org"};
  w.save("alice@example.org");
  auto r = w.resolve("alice@example.org");
  REQUIRE(r.mailbox.has_value());
  CHECK(r.mailbox->store);
  CHECK(r.remote_targets == V{"far@away.example"});
  CHECK(r.local_targets == V{"bob@example.org"});
  w.users["alice@example.org"].keep_copy = false;
  w.save("alice@example.org");
  auto n = w.resolve("alice@example.org");
  REQUIRE(n.mailbox.has_value());  // still there for the auto-reply
  CHECK_FALSE(n.mailbox->store);
  CHECK(n.delivered_to == V{"alice@example.org"});
  // A forward that only leads back keeps the mail here.
  w.users["alice@example.org"].forward = {"alice@example.org"};
  w.save("alice@example.org");
  auto self = w.resolve("alice@example.org");
  REQUIRE(self.mailbox.has_value());
  CHECK(self.mailbox->store);
  CHECK(self.local_targets.empty());
  // Reached through an alias: both addresses are named in the new message.
  w.users["alice@example.org"].forward = {"far@away.example"};
  w.save("alice@example.org");
  w.alias("boss@example.org", {"alice@example.org"});
  CHECK(w.resolve("boss@example.org").delivered_to == V{"boss@example.org", "alice@example.org"});
}

TEST_CASE("disabled users, unknown alias targets") {
  World w;
  w.users["bob@example.org"].disabled = true;
  w.save("bob@example.org");
  check_failure(w.resolve("bob@example.org"), Outcome::kPermanent, "5.2.1");
  w.alias("list@example.org", {"alice@example.org", "typo@example.org", "bad address"});
  auto r = w.resolve("list@example.org");
  REQUIRE(r.mailbox.has_value());                   // alice
  CHECK(r.local_targets == V{"typo@example.org"});  // bounces on its own, naming itself
}

TEST_CASE("loops: self, round, nesting too deep, our own Delivered-To") {
  World w;
  w.alias("self@example.org", {"self@example.org"});
  check_failure(w.resolve("self@example.org"), Outcome::kPermanent, "5.4.6");
  w.alias("ping@example.org", {"pong@example.org"});
  w.alias("pong@example.org", {"ping@example.org"});
  auto r = w.resolve("ping@example.org");
  check_failure(r, Outcome::kPermanent, "5.4.6");
  CHECK(r.failure->text.find("loop") != std::string::npos);
  // A loop that also leads somewhere is cut, not bounced.
  w.alias("ping@example.org", {"pong@example.org", "far@away.example"});
  auto part = w.resolve("ping@example.org");
  REQUIRE_FALSE(part.failure.has_value());
  CHECK(part.remote_targets == V{"far@away.example"});
  for (int i = 0; i < kMaxDepth + 2; ++i)
    w.alias("n" + std::to_string(i) + "@example.org", {"n" + std::to_string(i + 1) + "@example.org"});
  w.alias("n" + std::to_string(kMaxDepth + 2) + "@example.org", {"alice@example.org"});
  check_failure(w.resolve("n0@example.org"), Outcome::kPermanent, "5.4.6");
  CHECK(w.resolve("n5@example.org").mailbox.has_value());
  // The message already passed through here for this address (Postfix local(8)).
  check_failure(w.resolve("alice@example.org", {"alice@example.org"}), Outcome::kPermanent, "5.4.6");
  w.alias("boss@example.org", {"alice@example.org"});
  check_failure(w.resolve("boss@example.org", {"alice@example.org"}), Outcome::kPermanent, "5.4.6");
  CHECK(w.resolve("bob@example.org", {"alice@example.org"}).mailbox.has_value());
}

TEST_CASE("SRS addresses of ours are sent back, keeping the sender") {
  World w;
  RecipientsConfig cfg;
  cfg.srs_secret = kSecret;
  auto srs = common::mail::srs::forward(kSecret, "orig", "sender.example", "example.org", ::time(nullptr));
  REQUIRE(srs.is_ok());
  auto r = w.resolve(*srs, {}, cfg);
  REQUIRE_FALSE(r.failure.has_value());
  CHECK(r.remote_targets == V{"orig@sender.example"});
  CHECK(r.keep_sender);
  std::string forged = srs->substr(0, srs->find("=orig@")) + "=mallory@example.org";
  check_failure(w.resolve(forged, {}, cfg), Outcome::kPermanent, "5.1.1");
  check_failure(w.resolve(*srs), Outcome::kTemporary, "4.3.0");  // no secret here
}
