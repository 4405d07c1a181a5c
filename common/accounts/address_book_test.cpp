// Unit tests of the address book over an in-memory directory: the RCPT verdict of every
// address class, expansion (mailbox, targets, loops), the transport the queue manager
// uses, login names, and mailctl's target and loop checks.
#include "common/accounts/address_book.hpp"

#include <doctest/doctest.h>

#include <ctime>

#include "common/mail/srs.hpp"

using namespace common::accounts;
using common::mail::Outcome;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";

struct Book {
  MemoryLookup db;
  Rules rules;
  std::set<std::string> full;
  Book() {
    db.add_domain("example.org");
    db.add_domain("example.net", "example.org");
    db.add_domain("catch.org", "", "alice@example.org");
    db.add_domain("broken.org", "", "ghost@example.org");
    for (const char* u : {"alice", "bob", "admin"}) db.add_user(std::string(u) + "@example.org");
    db.add_user("gone@example.org").disabled = true;
    db.add_user("bad@example.org").maildir = "../etc";
    db.add_user("away@example.org").forward = {"far@away.example", "bob@example.org"};
    db.user_map["away@example.org"].keep_copy = false;
    db.add_alias("team@example.org", {"alice@example.org", "Bob@Example.org", "far@away.example"});
    db.add_alias("sales@example.org", {"alice@example.org"});
    db.add_alias("chain@example.org", {"sales@example.org"});
    db.add_alias("old@example.org", {"gone@example.org"});
    db.add_alias("ping@example.org", {"pong@example.org"});
    db.add_alias("pong@example.org", {"ping@example.org"});
    rules.hostname = "mx.example.org";
    rules.postmaster_address = "admin@example.org";
    rules.mail_root = "/mail";
    rules.srs_secret = kSecret;
  }
  AddressBook book() { return AddressBook(db, rules); }
  Recipient rcpt(const std::string& text) {
    auto a = common::mail::parse_mailbox(text, true);
    MB_CHECK(a.is_ok(), "test address");
    return book().rcpt(*a, ::time(nullptr), [&](const std::string& u) { return full.count(u) > 0; });
  }
  Class why(const std::string& text) { return rcpt(text).why; }
  Expansion expand(const std::string& text, const std::set<std::string>& marks = {}) {
    return book().expand(text, marks, ::time(nullptr));
  }
};

}  // namespace

TEST_CASE("RCPT: users, aliases, alias chains, domain alias, catch-all, subaddress") {
  Book b;
  for (const char* a : {"alice@example.org", "ALICE@Example.ORG", "team@example.org", "chain@example.org",
                        "alice@example.net", "sales@example.net", "anything@catch.org",
                        "alice+lists@example.org", "team+x@example.org", "away@example.org"}) {
    CAPTURE(a);
    auto r = b.rcpt(a);
    CHECK(r.local);
    CHECK(r.why == Class::kOk);
  }
}

TEST_CASE("RCPT: unknown, disabled, loops, broken catch-all, damaged record") {
  Book b;
  CHECK(b.why("nobody@example.org") == Class::kUnknown);
  CHECK(b.why("nobody@example.net") == Class::kUnknown);  // unknown in the alias domain's target
  CHECK(b.why("nobody+x@example.org") == Class::kUnknown);
  CHECK(b.why("+x@example.org") == Class::kUnknown);
  CHECK(b.why("x@broken.org") == Class::kUnknown);  // the catch-all target does not exist
  auto gone = b.rcpt("gone@example.org");
  CHECK(gone.why == Class::kDisabled);
  CHECK(gone.verdict.status == "5.2.1");
  CHECK(b.why("old@example.org") == Class::kDisabled);  // an alias to a disabled user
  auto loop = b.rcpt("ping@example.org");
  CHECK(loop.why == Class::kLoop);
  CHECK(loop.verdict.status == "5.4.6");
  auto bad = b.rcpt("bad@example.org");
  CHECK(bad.why == Class::kTempFail);
  CHECK(bad.verdict.outcome == Outcome::kTemporary);
}

TEST_CASE("RCPT: a full mailbox is 4.2.2, through aliases and subaddresses too") {
  Book b;
  b.full.insert("alice@example.org");
  CHECK(b.why("alice@example.org") == Class::kFull);
  CHECK(b.why("alice+x@example.org") == Class::kFull);
  CHECK(b.why("sales@example.org") == Class::kFull);
  CHECK(b.rcpt("alice@example.org").verdict.status == "4.2.2");
  CHECK(b.why("bob@example.org") == Class::kOk);
  CHECK(b.why("team@example.org") == Class::kOk);  // a fan-out: each user on its own later
}

TEST_CASE("RCPT: postmaster and abuse of every domain, postmaster@<hostname>") {
  Book b;
  for (const char* a : {"postmaster@example.org", "abuse@example.org", "PostMaster@example.net",
                        "postmaster@catch.org", "postmaster@mx.example.org", "Postmaster@MX.example.org"}) {
    CAPTURE(a);
    CHECK(b.rcpt(a).local);
    CHECK(b.why(a) == Class::kOk);
    auto e = b.expand(a);
    REQUIRE(e.mailbox);
    CHECK(e.mailbox->address == "admin@example.org");
  }
  // Without postmaster_address and with a hostname that is no domain of ours there is no
  // mailbox: refused at RCPT as at delivery, not accepted and bounced.
  b.rules.postmaster_address = "";
  CHECK(b.why("postmaster@mx.example.org") == Class::kUnknown);
  CHECK(b.why("postmaster@example.org") == Class::kUnknown);
  // With the hostname a domain of ours, postmaster@ of every domain goes there.
  b.db.add_domain("mx.example.org");
  b.db.add_alias("postmaster@mx.example.org", {"admin@example.org"});
  CHECK(b.why("postmaster@example.org") == Class::kOk);
  CHECK(b.why("abuse@example.net") == Class::kOk);
  // abuse@<hostname> is not special when the hostname is no domain of ours.
  Book c;
  CHECK_FALSE(c.rcpt("abuse@mx.example.org").local);
}

TEST_CASE("RCPT: SRS addresses of ours pass, forged and expired ones are 5.1.1, no secret is 4.3.0") {
  Book b;
  std::int64_t now = ::time(nullptr);
  auto ours = common::mail::srs::forward(kSecret, "someone", "origin.example", "example.org", now);
  REQUIRE(ours.is_ok());
  CHECK(b.why(*ours) == Class::kOk);
  auto e = b.expand(*ours);
  CHECK(e.keep_sender);
  CHECK(e.remote_targets == std::vector<std::string>{"someone@origin.example"});
  auto old =
      common::mail::srs::forward(kSecret, "someone", "origin.example", "example.org", now - 40 * 86400);
  REQUIRE(old.is_ok());
  CHECK(b.why(*old) == Class::kBadSrs);
  auto forged = b.rcpt("SRS0=AAAAAA=AA=origin.example=someone@example.org");
  CHECK(forged.why == Class::kBadSrs);
  CHECK(forged.verdict.status == "5.1.1");
  b.rules.srs_secret = "";
  CHECK(b.why(*ours) == Class::kTempFail);
}

TEST_CASE("RCPT: other domains are not local; a database error is 4.3.0") {
  Book b;
  CHECK_FALSE(b.rcpt("alice@far.example").local);
  CHECK_FALSE(b.rcpt("postmaster@far.example").local);
  CHECK_FALSE(b.rcpt("alice@[192.0.2.1]").local);
  b.db.broken = true;
  auto r = b.rcpt("alice@example.org");
  CHECK(r.local);
  CHECK(r.why == Class::kTempFail);
  CHECK(r.verdict.status == "4.3.0");
}

TEST_CASE("expand: one mailbox, fan-out, forwards, Delivered-To loops") {
  Book b;
  auto one = b.expand("chain@example.net");
  REQUIRE(one.mailbox);
  CHECK(one.mailbox->path == "/mail/example.org/alice");
  CHECK(one.mailbox->known_as.count("sales@example.org") == 1);
  auto fan = b.expand("team@example.org");
  CHECK_FALSE(fan.mailbox);
  CHECK(fan.local_targets == std::vector<std::string>{"alice@example.org", "bob@example.org"});
  CHECK(fan.remote_targets == std::vector<std::string>{"far@away.example"});
  auto away = b.expand("away@example.org");
  REQUIRE(away.mailbox);
  CHECK_FALSE(away.mailbox->store);
  CHECK(away.local_targets == std::vector<std::string>{"bob@example.org"});
  auto marked = b.expand("alice@example.org", {"alice@example.org"});
  REQUIRE(marked.failure);
  CHECK(marked.why == Class::kLoop);
}

TEST_CASE("transport: our domains and postmaster@<hostname> are local") {
  Book b;
  auto t = [&](const std::string& a) { return *b.book().transport(a); };
  CHECK(t("alice@example.org") == Transport::kLocal);
  CHECK(t("x@Example.NET") == Transport::kLocal);
  CHECK(t("postmaster@mx.example.org") == Transport::kLocal);
  CHECK(t("POSTMASTER@MX.EXAMPLE.ORG") == Transport::kLocal);
  CHECK(t("abuse@mx.example.org") == Transport::kRemote);
  CHECK(t("alice@far.example") == Transport::kRemote);
  CHECK(t("alice@[192.0.2.1]") == Transport::kRemote);
  CHECK_FALSE(b.book().transport("no-domain").is_ok());
  b.db.broken = true;
  CHECK_FALSE(b.book().transport("alice@example.org").is_ok());
}

TEST_CASE("login: full address in any case, bare local part with one real domain, never a bad record") {
  Book b;
  auto login = [&](const std::string& n) { return *b.book().login(n); };
  REQUIRE(login("Alice@Example.ORG"));
  CHECK(login("Alice@Example.ORG")->address == "alice@example.org");
  CHECK(login("alice@example.org")->maildir == "/mail/example.org/alice");
  // One real domain (the others are an alias and two catch-all domains: not here).
  CHECK_FALSE(login("alice"));  // catch.org and broken.org are real domains too
  CHECK_FALSE(login("gone@example.org"));
  CHECK_FALSE(login("bad@example.org"));     // Maildir path outside mail_directory
  CHECK_FALSE(login("sales@example.org"));   // an alias cannot log in
  CHECK_FALSE(login("alice@example.net"));   // nor the alias domain's name of a user
  CHECK_FALSE(login("ali ce@example.org"));  // not a valid address
  MemoryLookup one;
  one.add_domain("yourcompany.test");
  one.add_domain("alias.test", "yourcompany.test");
  one.add_user("bob@yourcompany.test");
  AddressBook solo(one, Rules{});
  REQUIRE(*solo.login("BOB"));
  CHECK((*solo.login("BOB"))->address == "bob@yourcompany.test");
}

TEST_CASE("mailctl: targets that exist, and where an address leads") {
  Book b;
  auto exists = [&](const std::string& k, bool catchall) { return *b.book().target_exists(k, catchall); };
  CHECK(exists("alice@example.org", false));
  CHECK(exists("alice+x@example.org", false));
  CHECK(exists("alice@example.net", false));
  CHECK(exists("postmaster@example.org", false));
  CHECK(exists("someone@far.example", false));
  CHECK_FALSE(exists("nobody@example.org", true));
  CHECK(exists("nobody@catch.org", true));
  CHECK_FALSE(exists("nobody@catch.org", false));
  auto hops = [&](const std::string& k) { return *b.book().next_hops(k); };
  CHECK(hops("team@example.org") ==
        std::vector<std::string>{"alice@example.org", "bob@example.org", "far@away.example"});
  CHECK(hops("away@example.org") == std::vector<std::string>{"far@away.example", "bob@example.org"});
  CHECK(hops("alice@example.org").empty());
  CHECK(hops("x@example.net") == std::vector<std::string>{"x@example.org"});
}

TEST_CASE("rcpt: relay recipient lists of backed-up domains") {
  Book b;
  AddressBook book(b.db, b.rules);
  auto rc = [&](const std::string& text) {
    auto a = common::mail::parse_mailbox(text, true);
    REQUIRE(a.is_ok());
    return book.rcpt(*a, 0);
  };
  // No list: not local, nothing decided here (the relay rules do).
  Recipient r = rc("anyone@backup.test");
  CHECK_FALSE(r.local);
  CHECK_FALSE(r.relay_list);
  CHECK(r.why == Class::kOk);
  b.db.relay_recipient_set = {"@backup.test", "boss@backup.test"};
  r = rc("Boss@Backup.TEST");
  CHECK(r.relay_list);
  CHECK(r.why == Class::kOk);
  CHECK(rc("boss+tag@backup.test").why == Class::kOk);
  r = rc("nobody@backup.test");
  CHECK_FALSE(r.local);
  CHECK(r.relay_list);
  CHECK(r.why == Class::kUnknown);
  CHECK(r.verdict.status == "5.1.1");
  CHECK(r.verdict.outcome == Outcome::kPermanent);
  CHECK_FALSE(rc("x@[192.0.2.1]").relay_list);  // address literals have no list
  // Local domains ignore relay lists (users and aliases decide).
  b.db.relay_recipient_set.insert("@example.org");
  CHECK(rc("alice@example.org").why == Class::kOk);
}
