// Tests of POP3 command parsing (RFC 1939 3, RFC 5034) and the SASL PLAIN helpers.
#include "pop3d/commands.hpp"

#include <doctest/doctest.h>

using namespace pop3d;

TEST_CASE("keywords are case-insensitive, arguments split on spaces (RFC 1939 3)") {
  auto c = parse_command("list 3");
  REQUIRE(c.is_ok());
  CHECK(c->verb == Verb::kList);
  CHECK(c->keyword == "LIST");
  CHECK(c->args == std::vector<std::string>{"3"});
  CHECK(parse_command("ToP 1 10")->verb == Verb::kTop);
  CHECK(parse_command("ToP 1 10")->args.size() == 2);
  CHECK(parse_command("STAT")->args.empty());
  CHECK(parse_command("XYZZ")->verb == Verb::kUnknown);
  CHECK(parse_command("APOP a b")->verb == Verb::kApop);
}

TEST_CASE("PASS keeps spaces in the password (RFC 1939 7)") {
  auto c = parse_command("PASS  my secret pass ");
  REQUIRE(c.is_ok());
  CHECK(c->verb == Verb::kPass);
  CHECK(c->rest == " my secret pass ");
  CHECK(c->args.empty());
}

TEST_CASE("bad lines") {
  CHECK_FALSE(parse_command("").is_ok());
  CHECK_FALSE(parse_command("LIST  1").is_ok());  // empty argument
  CHECK_FALSE(parse_command("LIST 1 ").is_ok());
  CHECK_FALSE(parse_command("RETRIEVE 1").is_ok());
  CHECK_FALSE(parse_command(std::string_view("RETR \0 1", 8)).is_ok());
  CHECK_FALSE(parse_command("USER a\x7f").is_ok());
  CHECK_FALSE(parse_command("USER " + std::string(kMaxLine, 'a')).is_ok());
  CHECK(parse_command("USER " + std::string(200, 'a') + "@example.org").is_ok());
}

TEST_CASE("message numbers and line counts") {
  CHECK(parse_msg_number("1", 3) == 1u);
  CHECK(parse_msg_number("3", 3) == 3u);
  CHECK(parse_msg_number("003", 3) == 3u);
  CHECK_FALSE(parse_msg_number("0", 3));
  CHECK_FALSE(parse_msg_number("4", 3));
  CHECK_FALSE(parse_msg_number("-1", 3));
  CHECK_FALSE(parse_msg_number("1a", 3));
  CHECK_FALSE(parse_msg_number("99999999999", SIZE_MAX));
  CHECK(parse_line_count("0") == 0u);
  CHECK(parse_line_count("10") == 10u);
  CHECK(parse_line_count("99999999999999999999999") == UINT64_MAX);
  CHECK_FALSE(parse_line_count("-1"));
  CHECK_FALSE(parse_line_count(""));
}
