// Unit tests of the address book's sender check (AddressBook::sends_as, smtpd's
// smtpd_sender_login_check): which MAIL FROM addresses an authenticated user may use.
#include <doctest/doctest.h>

#include "common/accounts/address_book.hpp"

using namespace common::accounts;

namespace {

struct Senders {
  MemoryLookup db;
  Rules rules;
  Senders() {
    db.add_domain("example.org");
    db.add_domain("example.net", "example.org");  // a domain alias
    db.add_user("alice@example.org");
    db.add_user("bob@example.org");
    db.add_alias("sales@example.org", {"Alice@Example.org"});
    db.add_alias("team@example.org", {"bob@example.org", "alice@example.org"});
    db.add_alias("far@example.org", {"someone@elsewhere.example"});
  }
  common::Result<bool> sends_as(const std::string& user, const std::string& sender) {
    auto a = common::mail::parse_mailbox(sender, true);
    MB_CHECK(a.is_ok(), "test address");
    return AddressBook(db, rules).sends_as(user, *a);
  }
  bool yes(const std::string& user, const std::string& sender) {
    auto r = sends_as(user, sender);
    MB_CHECK(r.is_ok(), "lookup");
    return *r;
  }
};

}  // namespace

TEST_CASE("sender check: the user's own address, in any case") {
  Senders s;
  CHECK(s.yes("alice@example.org", "alice@example.org"));
  CHECK(s.yes("alice@example.org", "ALICE@Example.Org"));
}

TEST_CASE("sender check: an alias whose targets include the user") {
  Senders s;
  CHECK(s.yes("alice@example.org", "sales@example.org"));  // targets compared case-insensitively
  CHECK(s.yes("alice@example.org", "team@example.org"));
  CHECK(s.yes("bob@example.org", "team@example.org"));
  CHECK_FALSE(s.yes("bob@example.org", "sales@example.org"));
  // A subaddress of the alias is the alias.
  CHECK(s.yes("alice@example.org", "sales+news@example.org"));
}

TEST_CASE("sender check: the same local part in a domain alias") {
  Senders s;
  CHECK(s.yes("alice@example.org", "alice@example.net"));
  CHECK(s.yes("alice@example.org", "sales@example.net"));
  CHECK_FALSE(s.yes("alice@example.org", "bob@example.net"));
}

TEST_CASE("sender check: foreign addresses") {
  Senders s;
  CHECK_FALSE(s.yes("alice@example.org", "bob@example.org"));      // another user
  CHECK_FALSE(s.yes("alice@example.org", "alice@other.example"));  // not our domain
  CHECK_FALSE(s.yes("alice@example.org", "far@example.org"));      // an alias of someone else
  CHECK_FALSE(s.yes("alice@example.org", "nobody@example.org"));   // no such address
  CHECK_FALSE(s.yes("alice@example.org", "alice@[192.0.2.1]"));    // an address literal
}

TEST_CASE("sender check: a database that cannot be read is an error, not a no") {
  Senders s;
  s.db.broken = true;
  CHECK(s.sends_as("alice@example.org", "alice@example.org").is_ok());  // decided without a lookup
  CHECK_FALSE(s.sends_as("alice@example.org", "sales@example.org").is_ok());
}
