// The SASL PLAIN message (RFC 4616 2), login names and the authzid rule.
#include "common/auth/sasl.hpp"

#include <doctest/doctest.h>

using namespace common::auth::sasl;

TEST_CASE("RFC 4616 2: authzid NUL authcid NUL passwd") {
  auto c = parse_plain(std::string("\0alice@example.test\0secret", 26));
  REQUIRE(c.is_ok());
  CHECK(c->authzid.empty());
  CHECK(c->authcid == "alice@example.test");
  CHECK(c->password == "secret");
  auto z = parse_plain(std::string("admin\0alice\0pw", 14));
  REQUIRE(z.is_ok());
  CHECK(z->authzid == "admin");
  CHECK_FALSE(parse_plain("alice").is_ok());
  CHECK_FALSE(parse_plain(std::string("\0alice", 6)).is_ok());
  CHECK_FALSE(parse_plain(std::string("\0\0pw", 4)).is_ok());           // empty authcid
  CHECK_FALSE(parse_plain(std::string("\0alice\0", 7)).is_ok());        // empty password
  CHECK_FALSE(parse_plain(std::string("\0alice\0pw\0x", 11)).is_ok());  // extra NUL
  std::string big(256, 'a');
  CHECK_FALSE(parse_plain(std::string("\0", 1) + big + std::string("\0pw", 3)).is_ok());
}

TEST_CASE("login names and authzid") {
  CHECK(valid_login_name("alice@example.test"));
  CHECK(valid_login_name("j\xc3\xb6rg"));
  CHECK_FALSE(valid_login_name(""));
  CHECK_FALSE(valid_login_name("a b"));
  CHECK_FALSE(valid_login_name("a\nb"));
  CHECK_FALSE(valid_login_name("\xff"));
  CHECK_FALSE(valid_login_name(std::string(256, 'a')));
  CHECK(authzid_allowed("", "alice@example.test"));
  CHECK(authzid_allowed("Alice@Example.test", "alice@example.test"));
  CHECK_FALSE(authzid_allowed("bob@example.test", "alice@example.test"));
  CHECK_FALSE(authzid_allowed("alice", "alice@example.test"));
}

TEST_CASE("wipe clears") {
  std::string s = "secret";
  wipe(&s);
  CHECK(s.empty());
}
