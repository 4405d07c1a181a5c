// Tests for the signing decision (policy.hpp): who gets signed, for which domain, and
// the From: domain parser.
#include "common/dkim/policy.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace common::dkim;
using common::spool::Origin;

namespace {
const std::set<std::string, std::less<>> kKeys = {"example.org", "other.test"};
bool has_key(std::string_view d) { return kKeys.count(d) > 0; }
common::net::NetworkList relay() { return *common::net::NetworkList::parse({"192.0.2.0/24"}); }

Decision check(SignFacts f) { return decide(f, relay(), has_key); }
SignFacts facts(Origin o, std::string protocol, std::string client, std::string auth, std::string from,
                std::string sender = "x@elsewhere.test") {
  return SignFacts{o, protocol, client, auth, sender, from};
}
}  // namespace

TEST_CASE("submitted mail: authenticated, relay network, local sendmail are signed") {
  auto d = check(facts(Origin::kSubmitter, "ESMTPSA", "pc [203.0.113.9]", "alice", "example.org"));
  CHECK(d.sign);
  CHECK(d.domain == "example.org");
  CHECK(d.why == "authenticated user");
  d = check(facts(Origin::kSubmitter, "ESMTP", "pc [192.0.2.7]", "", "example.org"));
  CHECK(d.sign);
  CHECK(d.why == "relay network");
  d = check(facts(Origin::kSubmitter, "local", "", "", "example.org"));
  CHECK(d.sign);
  CHECK(d.why == "local submission");
}

TEST_CASE("a stranger's mail is not signed, whatever its From: says") {
  auto d = check(facts(Origin::kSubmitter, "ESMTP", "mx [203.0.113.9]", "", "example.org"));
  CHECK_FALSE(d.sign);
  CHECK(d.why == "not from an authenticated user, a relay network or this machine");
  CHECK_FALSE(check(facts(Origin::kSubmitter, "ESMTPS", "mx [IPv6:2001:db8::1]", "", "example.org")).sign);
}

TEST_CASE("the domain: From:, or its nearest parent with a key; none without a key") {
  CHECK(check(facts(Origin::kSubmitter, "ESMTPA", "", "u", "mail.example.org")).domain == "example.org");
  auto d = check(facts(Origin::kSubmitter, "ESMTPA", "", "u", "gmail.test"));
  CHECK_FALSE(d.sign);
  CHECK(d.why == "no key for gmail.test");
  CHECK_FALSE(check(facts(Origin::kSubmitter, "ESMTPA", "", "u", "")).sign);
  CHECK_FALSE(check(facts(Origin::kSubmitter, "ESMTPA", "", "u", "org")).sign);
  // An ordinary submitter's envelope sender does not choose the domain.
  CHECK_FALSE(check(facts(Origin::kSubmitter, "ESMTPA", "", "u", "gmail.test", "u@example.org")).sign);
}

TEST_CASE("the mail system's own messages: bounces, notices, forwards with SRS") {
  auto d = check(facts(Origin::kQueueManager, "bounce", "", "", "mail.example.org", ""));
  CHECK(d.sign);
  CHECK(d.domain == "example.org");
  CHECK(d.why == "queue manager notice");
  // A forward keeps the author's From:; it is signed for the SRS domain it claims.
  d = check(facts(Origin::kLocalAgent, "local", "local delivery agent", "", "author.test",
                  "SRS0=abcd=TT=author.test=a@other.test"));
  CHECK(d.sign);
  CHECK(d.domain == "other.test");
  d = check(facts(Origin::kLocalAgent, "local", "local delivery agent", "", "example.org", ""));
  CHECK(d.domain == "example.org");
}

TEST_CASE("From: domain parser") {
  CHECK(from_header_domain(" alice@Example.ORG") == "example.org");
  CHECK(from_header_domain(" \"Alice, Smith\" <alice@example.org>") == "example.org");
  CHECK(from_header_domain(" Alice <alice@example.org> (work)") == "example.org");
  CHECK(from_header_domain(" alice@example.org (Alice <x@evil.test>)") == "example.org");
  CHECK(from_header_domain(" \"x@evil.test\" <alice@example.org>") == "example.org");
  CHECK(from_header_domain(" a@example.org, b@other.test") == "");
  CHECK(from_header_domain(" <a@example.org> <b@other.test>") == "");
  CHECK(from_header_domain(" nobody") == "");
  CHECK(from_header_domain(" a@") == "");
  CHECK(from_header_domain(" a@ex ample.org") == "");
  CHECK(from_header_domain(" a@[192.0.2.1]") == "");
  CHECK(from_header_domain(" (unclosed a@example.org") == "");
  CHECK(client_address("pc [192.0.2.1]") == "192.0.2.1");
  CHECK(client_address("pc [IPv6:2001:db8::1]") == "2001:db8::1");
  CHECK(client_address("") == "");
}
