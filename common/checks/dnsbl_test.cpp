// Unit tests for common/checks/dnsbl.hpp: list specs, query names, the answer filter and
// the score.
#include "common/checks/dnsbl.hpp"

#include <doctest/doctest.h>

using namespace common::checks;

TEST_CASE("list specs: zone, filter, weight") {
  auto l = parse_list_spec("Zen.Example.", false);
  REQUIRE(l.is_ok());
  CHECK(l->zone == "zen.example");
  CHECK(l->codes.empty());
  CHECK(l->weight == 1);

  l = parse_list_spec("bl.example=127.0.0.2..11;127.0.0.20*3", false);
  REQUIRE(l.is_ok());
  CHECK(l->zone == "bl.example");
  REQUIRE(l->codes.size() == 2);
  CHECK(l->codes[0].first == 0x7f000002u);
  CHECK(l->codes[0].last == 0x7f00000bu);
  CHECK(l->codes[1].first == l->codes[1].last);
  CHECK(l->weight == 3);

  CHECK_FALSE(parse_list_spec("", false).is_ok());
  CHECK_FALSE(parse_list_spec("bl.example=127.0.0", false).is_ok());
  CHECK_FALSE(parse_list_spec("bl.example=127.0.0.9..2", false).is_ok());
  CHECK_FALSE(parse_list_spec("bl.example=127.0.0.2..256", false).is_ok());
  CHECK_FALSE(parse_list_spec("bl.example*0", false).is_ok());
  CHECK_FALSE(parse_list_spec("bl.example*x", false).is_ok());
  CHECK_FALSE(parse_list_spec("bad zone", false).is_ok());
  CHECK(parse_lists({"a.example", "b.example*2"}, true)->at(1).allow);
  CHECK_FALSE(parse_lists({"a.example", "b..example"}, true).is_ok());
}

TEST_CASE("query names reverse the address (RFC 5782 2.1, 2.4)") {
  CHECK(query_name("192.0.2.99", "bl.example") == "99.2.0.192.bl.example");
  CHECK(query_name("2001:db8::1", "bl.example") ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  CHECK(query_name("not-an-ip", "bl.example").empty());
}

TEST_CASE("answer filter") {
  auto any = *parse_list_spec("bl.example", false);
  CHECK(code_matches(any, "127.0.0.2"));
  CHECK(code_matches(any, "127.255.255.254"));
  CHECK_FALSE(code_matches(any, "10.0.0.2"));
  CHECK_FALSE(code_matches(any, "garbage"));
  auto some = *parse_list_spec("bl.example=127.0.0.2..11;127.0.1.5", false);
  CHECK(code_matches(some, "127.0.0.2"));
  CHECK(code_matches(some, "127.0.0.11"));
  CHECK_FALSE(code_matches(some, "127.0.0.12"));
  CHECK(code_matches(some, "127.0.1.5"));
  CHECK_FALSE(code_matches(some, "127.255.255.254"));
}

TEST_CASE("score: simple reject, weights, allowlists, temperror") {
  auto a = *parse_list_spec("a.example", false);
  auto b = *parse_list_spec("b.example=127.0.0.4*2", false);
  auto w = *parse_list_spec("wl.example*2", true);

  auto v = score({{&a, false, {}}, {&b, false, {}}}, 1);
  CHECK(v.kind == DnsblVerdict::Kind::kPass);

  v = score({{&a, false, {"127.0.0.2"}}, {&b, false, {}}}, 1);
  CHECK(v.kind == DnsblVerdict::Kind::kListed);
  CHECK(v.zone == "a.example");
  CHECK(v.code == "127.0.0.2");

  // b's filter refuses 127.0.0.2; a alone is below the threshold of 2.
  v = score({{&a, false, {"127.0.0.2"}}, {&b, false, {"127.0.0.2"}}}, 2);
  CHECK(v.kind == DnsblVerdict::Kind::kPass);
  CHECK(v.score == 1);
  v = score({{&a, false, {"127.0.0.2"}}, {&b, false, {"127.0.0.4"}}}, 2);
  CHECK(v.kind == DnsblVerdict::Kind::kListed);
  CHECK(v.zone == "b.example");  // the heavier list names the reason
  CHECK(v.score == 3);
  CHECK(v.detail == "a.example=127.0.0.2, b.example=127.0.0.4");

  // An allowlist match outweighs.
  v = score({{&a, false, {"127.0.0.2"}}, {&w, false, {"127.0.0.3"}}}, 1);
  CHECK(v.kind == DnsblVerdict::Kind::kAllowed);
  CHECK(v.zone == "wl.example");
  CHECK(v.score == -1);

  // A list that could not be asked only matters when it could decide.
  v = score({{&a, true, {}}}, 1);
  CHECK(v.kind == DnsblVerdict::Kind::kTempError);
  v = score({{&a, true, {}}, {&b, false, {"127.0.0.4"}}}, 2);
  CHECK(v.kind == DnsblVerdict::Kind::kListed);
  v = score({{&a, true, {}}}, 2);
  CHECK(v.kind == DnsblVerdict::Kind::kPass);
  v = score({{&w, true, {}}}, 1);
  CHECK(v.kind == DnsblVerdict::Kind::kPass);
}
