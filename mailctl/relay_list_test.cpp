// Tests of the relay recipient list parser (relay_list.hpp) and of the
// relay-recipient command line.
#include "mailctl/relay_list.hpp"

#include <doctest/doctest.h>

#include "mailctl/args.hpp"

using namespace mailctl;

TEST_CASE("parse_relay_list: addresses, bare local parts, comments; sorted, unique, lower-case") {
  auto r = parse_relay_list(
      "# primary's users\nBoss@Primary.TEST\r\n  sales  # the team\n\n\tboss\nx.y@primary.test",
      "primary.test");
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  CHECK(*r == std::vector<std::string>{"boss@primary.test", "sales@primary.test", "x.y@primary.test"});
  CHECK(parse_relay_list("", "primary.test")->empty());  // an empty list: every recipient refused
  CHECK(parse_relay_list("# nothing\n\n", "primary.test")->empty());
  // UTF-8 domains are matched in their A-label form.
  auto u = parse_relay_list("anna@b\u00e4r.test\n", "xn--br-via.test");
  REQUIRE(u.is_ok());
  CHECK(*u == std::vector<std::string>{"anna@xn--br-via.test"});
}

TEST_CASE("parse_relay_list: the first bad line is named, nothing is returned") {
  auto r = parse_relay_list("boss\nsomeone@elsewhere.test\n", "primary.test");
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.message().find("line 2") != std::string::npos);
  CHECK_FALSE(parse_relay_list("a b@primary.test", "primary.test").is_ok());
  CHECK_FALSE(parse_relay_list("x@[192.0.2.1]", "primary.test").is_ok());
  CHECK_FALSE(parse_relay_list(std::string(70, 'a'), "primary.test").is_ok());  // local part > 64
  CHECK_FALSE(parse_relay_list("\xff@primary.test", "primary.test").is_ok());
}

TEST_CASE("relay_recipient_key") {
  CHECK(*relay_recipient_key("Boss@Primary.test", "") == "boss@primary.test");
  CHECK_FALSE(relay_recipient_key("boss", "").is_ok());  // no domain to complete it with
  CHECK(*relay_recipient_key("boss", "primary.test") == "boss@primary.test");
  CHECK_FALSE(relay_recipient_key("anna@\u2603.test", "").is_ok());  // no A-label form
}

TEST_CASE("relay-recipient command line") {
  auto a = parse_args({"relay-recipient", "add", "a@p.test", "b@p.test"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kRelayRecipientAdd);
  CHECK(a->values == std::vector<std::string>{"a@p.test", "b@p.test"});
  a = parse_args({"relay-recipient", "del", "p.test"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kRelayRecipientDel);
  CHECK(a->target == "p.test");
  a = parse_args({"relay-recipient", "import", "p.test", "-"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kRelayRecipientImport);
  CHECK(a->target2 == "-");
  a = parse_args({"relay-recipient", "list"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kRelayRecipientList);
  CHECK(a->target.empty());
  CHECK_FALSE(parse_args({"relay-recipient", "add"}).is_ok());
  CHECK_FALSE(parse_args({"relay-recipient", "import", "p.test"}).is_ok());
  CHECK_FALSE(parse_args({"relay-recipient", "frob"}).is_ok());
  CHECK(usage().find("relay-recipient import") != std::string::npos);
}
