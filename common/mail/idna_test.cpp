// Unit tests for IDNA conversion (common/mail/idna.hpp): RFC 5891 A-labels through
// UTS #46 non-transitional processing, and RFC 6531 3.2's downgrade of the domain of an
// address whose local part is ASCII, for servers without SMTPUTF8.
#include "common/mail/idna.hpp"

#include <doctest/doctest.h>

#include <string>

using common::mail::address_to_ascii;
using common::mail::domain_to_ascii;

TEST_CASE("ASCII domains come back unchanged (no case change: DNS is case-blind)") {
  CHECK(*domain_to_ascii("example.test") == "example.test");
  CHECK(*domain_to_ascii("Example.TEST") == "Example.TEST");
  CHECK(*domain_to_ascii("xn--bcher-kva.test") == "xn--bcher-kva.test");
  CHECK(*domain_to_ascii("") == "");
}

TEST_CASE("UTF-8 domains become A-labels (RFC 5891 4.4; RFC 3492 Punycode)") {
  CHECK(*domain_to_ascii("b\u00fccher.test") == "xn--bcher-kva.test");            // bücher
  CHECK(*domain_to_ascii("mail.b\u00fccher.test") == "mail.xn--bcher-kva.test");  // one label of several
  // UTS #46 mapping folds case before the IDNA2008 checks.
  CHECK(*domain_to_ascii("B\u00dcCHER.test") == "xn--bcher-kva.test");  // BÜCHER
  // Non-transitional: sharp s is kept (xn--), not mapped to "ss" as IDNA2003 did.
  CHECK(*domain_to_ascii("fa\u00df.de") == "xn--fa-hia.de");  // faß
  // NFC: u + combining diaeresis is the same name as ü.
  CHECK(*domain_to_ascii("bu\u0308cher.test") == "xn--bcher-kva.test");
}

TEST_CASE("what is not an IDN is an error naming it, never a crash") {
  auto bad_utf8 = domain_to_ascii("bad\xff.test");
  REQUIRE_FALSE(bad_utf8.is_ok());
  CHECK(bad_utf8.message().find("not a valid internationalised domain name") != std::string::npos);
  // RFC 5892: symbols such as U+2603 SNOWMAN are DISALLOWED in IDNA2008.
  CHECK_FALSE(domain_to_ascii("\xe2\x98\x83.test").is_ok());
  // A label longer than 63 octets once encoded (RFC 5890 2.3.2.1).
  std::string longlabel;
  for (int i = 0; i < 70; ++i) longlabel += "\u00fc";
  CHECK_FALSE(domain_to_ascii(longlabel + ".test").is_ok());
  CHECK_FALSE(domain_to_ascii(std::string("b\u00fc\0x.test", 10)).is_ok());
}

TEST_CASE("addresses: only the domain has an ASCII form (RFC 6531 3.2)") {
  CHECK(*address_to_ascii("anna@b\u00fccher.test") == "anna@xn--bcher-kva.test");
  CHECK(*address_to_ascii("anna@example.test") == "anna@example.test");
  CHECK(*address_to_ascii("") == "");  // the null path
  // A UTF-8 local part cannot be downgraded: the message needs SMTPUTF8.
  CHECK_FALSE(address_to_ascii("j\u00f6rg@b\u00fccher.test").has_value());
  CHECK_FALSE(address_to_ascii("j\u00f6rg@example.test").has_value());
  CHECK_FALSE(address_to_ascii("anna@\xe2\x98\x83.test").has_value());
  CHECK_FALSE(address_to_ascii("no-at-sign-\u00fc").has_value());
  // The last @ separates the domain (a quoted local part may hold one).
  CHECK(*address_to_ascii("\"a@b\"@b\u00fccher.test") == "\"a@b\"@xn--bcher-kva.test");
}
