// Unit tests for common/mail/ascii.hpp: ASCII-only case folding.
#include "common/mail/ascii.hpp"

#include <doctest/doctest.h>

using common::mail::iequals;
using common::mail::istarts_with;
using common::mail::lower;
using common::mail::upper;

TEST_CASE("lower folds ASCII letters only") {
  CHECK(lower('A') == 'a');
  CHECK(lower('Z') == 'z');
  CHECK(lower('a') == 'a');
  CHECK(lower('@') == '@');
  CHECK(lower('[') == '[');
  CHECK(lower("Postmaster@Example.ORG") == "postmaster@example.org");
  CHECK(lower("") == "");
  // UTF-8 octets are left alone (no locale): "ÄB" keeps its first two octets.
  CHECK(lower("\xC3\x84"
              "B") ==
        "\xC3\x84"
        "b");
}

TEST_CASE("upper folds ASCII letters only") {
  CHECK(upper('a') == 'A');
  CHECK(upper('z') == 'z' - 'a' + 'A');
  CHECK(upper('{') == '{');
  CHECK(upper("auth plain") == "AUTH PLAIN");
  CHECK(upper("\xC3\xA4"
              "b") ==
        "\xC3\xA4"
        "B");  // ä stays as it is
}

TEST_CASE("iequals and istarts_with ignore ASCII case") {
  CHECK(iequals("MAIL", "mail"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("mail", "mai"));
  CHECK_FALSE(iequals("\xC3\x84", "\xC3\xA4"));  // Ä and ä differ: not ASCII
  CHECK(istarts_with("SIZE=100", "size="));
  CHECK_FALSE(istarts_with("SI", "size"));
  static_assert(iequals("Bcc", "BCC"));
}
