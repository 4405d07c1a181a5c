// Tests of the row decoding and the password file (rows.hpp, password_file.hpp), without
// a server: NULLs, nonsense in typed cells, missing columns, lists, and the file's rules.
#include "common/pg/rows.hpp"

#include <doctest/doctest.h>

#include "common/pg/cache.hpp"
#include "common/pg/password_file.hpp"

namespace pg = common::pg;

namespace {
pg::Row cells(std::initializer_list<const char*> v) {
  pg::Row r;
  for (const char* c : v) r.emplace_back(c ? std::optional<std::string>(c) : std::nullopt);
  return r;
}
}  // namespace

TEST_CASE("integers and booleans as PostgreSQL writes them, and nothing else") {
  CHECK(*pg::parse_int("0", "n") == 0);
  CHECK(*pg::parse_int("-42", "n") == -42);
  CHECK(*pg::parse_int("9223372036854775807", "n") == INT64_MAX);
  CHECK_FALSE(pg::parse_int("9223372036854775808", "n"));
  CHECK_FALSE(pg::parse_int("", "n"));
  CHECK_FALSE(pg::parse_int("-", "n"));
  CHECK_FALSE(pg::parse_int("1.5", "n"));
  CHECK_FALSE(pg::parse_int(" 1", "n"));
  CHECK_FALSE(pg::parse_int("12345678901234567890", "n"));
  CHECK(*pg::parse_bool("t", "b"));
  CHECK_FALSE(*pg::parse_bool("f", "b"));
  CHECK_FALSE(pg::parse_bool("true", "b"));
  CHECK_FALSE(pg::parse_bool("1", "b"));
}

TEST_CASE("lists travel as lines") {
  CHECK(pg::split_lines("").empty());
  CHECK(pg::split_lines("a") == std::vector<std::string>{"a"});
  CHECK(pg::split_lines("a\nb") == std::vector<std::string>{"a", "b"});
  CHECK(pg::join_lines({"a", "b"}) == "a\nb");
  CHECK(pg::join_lines({}).empty());
}

TEST_CASE("a domain row decodes; NULLs, nonsense and missing columns are errors") {
  auto d = pg::decode_domain(cells({"example.org", "", "c@example.org", "1000", "0", "5", "1700000000"}));
  REQUIRE(d);
  CHECK(d->name == "example.org");
  CHECK(d->catchall == "c@example.org");
  CHECK(d->default_quota == 1000);
  CHECK(d->max_recipients == 5);
  auto null = pg::decode_domain(cells({"example.org", nullptr, "", "0", "0", "0", "0"}));
  REQUIRE_FALSE(null);
  CHECK(null.message().find("alias_of is NULL") != std::string::npos);
  auto text = pg::decode_domain(cells({"example.org", "", "", "lots", "0", "0", "0"}));
  REQUIRE_FALSE(text);
  CHECK(text.message().find("default_quota") != std::string::npos);
  CHECK_FALSE(pg::decode_domain(cells({"example.org", "", ""})));
  CHECK_FALSE(pg::decode_domain(cells({"example.org", "", "", "0", "0", "0", "0", "extra"})));
}

TEST_CASE("a user row round-trips through the writer's parameters") {
  common::accounts::User u;
  u.address = "a@example.org";
  u.maildir = "example.org/a";
  u.quota = 12345;
  u.forward = {"x@example.net", "y@example.net"};
  u.keep_copy = false;
  u.autoreply.enabled = true;
  u.autoreply.subject = "away";
  u.autoreply.text = "back\nsoon";
  u.junk_folder = false;
  auto p = pg::user_params(u);
  pg::Row row;
  for (const auto& s : p) row.emplace_back(s);
  auto back = pg::decode_user(row);
  REQUIRE(back);
  CHECK(back->address == u.address);
  CHECK(back->forward == u.forward);
  CHECK_FALSE(back->keep_copy);
  CHECK(back->autoreply.text == "back\nsoon");
  CHECK_FALSE(back->junk_folder);
  row[3] = "yes";  // disabled: not PostgreSQL's boolean text
  CHECK_FALSE(pg::decode_user(row));
  row[3] = std::nullopt;
  CHECK_FALSE(pg::decode_user(row));
}

TEST_CASE("alias and rule rows") {
  auto a = pg::decode_alias(cells({"all@example.org", "a@example.org\nb@example.org"}));
  REQUIRE(a);
  CHECK(a->targets.size() == 2);
  CHECK_FALSE(pg::decode_alias(cells({"all@example.org", nullptr})));
  auto r = pg::decode_rule(cells({"sender", "spam@example.net", "reject", ""}));
  REQUIRE(r);
  CHECK(r->action == "reject");
  CHECK_FALSE(pg::decode_rule(cells({"sender"})));
}

TEST_CASE("the password file: one line per role") {
  CHECK(*pg::parse_password_file("mailbag_reader r1\nmailbag_auth a b c\n", "mailbag_auth") == "a b c");
  CHECK(*pg::parse_password_file("# comment\n\nmailbag_reader r1\r\n", "mailbag_reader") == "r1");
  CHECK(pg::parse_password_file("mailbag_reader r1\n", "mailbag_auth")->empty());
  CHECK_FALSE(pg::parse_password_file("mailbag_auth\n", "mailbag_auth"));
  CHECK_FALSE(pg::parse_password_file("mailbag_auth a\nmailbag_auth b\n", "mailbag_auth"));
}

TEST_CASE("the cache: answers expire after the TTL, clear() drops them all") {
  using Clock = pg::TtlCache<int>::Clock;
  pg::TtlCache<int> c(std::chrono::seconds(5));
  auto t0 = Clock::now();
  c.put("a", 1, t0);
  REQUIRE(c.find("a", t0 + std::chrono::seconds(4)));
  CHECK(*c.find("a", t0 + std::chrono::seconds(4)) == 1);
  CHECK_FALSE(c.find("a", t0 + std::chrono::seconds(5)));
  CHECK_FALSE(c.find("b", t0));
  c.clear();
  CHECK_FALSE(c.find("a", t0));
  pg::TtlCache<int> off(std::chrono::seconds(0));
  off.put("a", 1, t0);
  CHECK_FALSE(off.find("a", t0));
}
