// Tests for the parsing of administrator-typed values (values.hpp) and of the new
// command lines (alias, domain alias/set/show, user set/autoreply/show).
#include "mailctl/values.hpp"

#include <doctest/doctest.h>

#include "mailctl/args.hpp"

using namespace mailctl;

TEST_CASE("settings: KEY=VALUE, known keys, once each") {
  auto s = parse_settings({"quota=15M", "forward=a@b.example,c@d.example", "keep-copy="},
                          {"quota", "forward", "keep-copy"});
  REQUIRE(s.is_ok());
  REQUIRE(s->size() == 3);
  CHECK((*s)[1].second == "a@b.example,c@d.example");
  CHECK((*s)[2].second.empty());
  CHECK(parse_settings({"quota"}, {"quota"}).message().find("not KEY=VALUE") != std::string::npos);
  CHECK(parse_settings({"=x"}, {"quota"}).message().find("not KEY=VALUE") != std::string::npos);
  CHECK(parse_settings({"colour=red"}, {"quota", "forward"}).message() ==
        "unknown setting 'colour' (known: quota, forward)");
  CHECK(parse_settings({"quota=1", "quota=2"}, {"quota"}).message() == "'quota' given twice");
}

TEST_CASE("sizes, counts, yes/no") {
  CHECK(*parse_limit_size("15M") == 15 << 20);
  CHECK(*parse_limit_size("512k") == 512 << 10);
  CHECK(*parse_limit_size("1000") == 1000);
  CHECK(*parse_limit_size("none") == 0);
  CHECK(*parse_limit_size("0") == 0);
  for (const char* bad : {"", "-5", "15MB", "lots", "1.5M", "99999999999G"})
    CHECK_FALSE(parse_limit_size(bad).is_ok());
  CHECK(*parse_limit_count("50", 100) == 50);
  CHECK(*parse_limit_count("none", 100) == 0);
  CHECK_FALSE(parse_limit_count("101", 100).is_ok());
  CHECK_FALSE(parse_limit_count("-1", 100).is_ok());
  CHECK_FALSE(parse_limit_count("1e3", 100000).is_ok());
  CHECK(*parse_yes_no("yes"));
  CHECK_FALSE(*parse_yes_no("off"));
  CHECK_FALSE(parse_yes_no("maybe").is_ok());
}

TEST_CASE("address lists: canonical, deduplicated, every item checked") {
  auto a = parse_address_list(" Bob@Example.ORG , carol@x.example,bob@example.org");
  REQUIRE(a.is_ok());
  CHECK(*a == std::vector<std::string>{"Bob@example.org", "carol@x.example", "bob@example.org"});
  CHECK(parse_address_list("")->empty());
  CHECK(parse_address_list("none")->empty());
  CHECK_FALSE(parse_address_list("a@b.example,,c@d.example").is_ok());
  CHECK_FALSE(parse_address_list("nodomain").is_ok());
  CHECK_FALSE(parse_address_list("a@b.example, x y@z.example").is_ok());
}

TEST_CASE("dates in local time: day start, day end, with a time") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  CHECK(*parse_date("2030-01-02", false) == 1893542400);
  CHECK(*parse_date("2030-01-02", true) == 1893542400 + 86399);
  CHECK(*parse_date("2030-01-02 08:30", true) == 1893542400 + 8 * 3600 + 30 * 60);
  CHECK(*parse_date("2030-01-02T08:30", false) == 1893542400 + 8 * 3600 + 30 * 60);
  CHECK(*parse_date("none", false) == 0);
  for (const char* bad :
       {"2030-02-30", "2030-13-01", "tomorrow", "2030-01-02x", "2030-01-02 25:00", "1969-12-31"})
    CHECK_FALSE(parse_date(bad, false).is_ok());
  CHECK(format_date(1893542400 + 8 * 3600 + 30 * 60) == "2030-01-02 08:30");
  CHECK(format_date(0) == "-");
  CHECK(format_size(0) == "none");
  CHECK(format_size(15 << 20) == "15.0 MiB (15728640 bytes)");
  CHECK(format_size(4096) == "4.0 KiB (4096 bytes)");
  CHECK(format_size(12) == "12 bytes");
}

TEST_CASE("lists joined for output") {
  CHECK(join_list({}, ", ").empty());
  CHECK(join_list({"a@b.example"}, ", ") == "a@b.example");
  CHECK(join_list({"a", "b", "a"}, " -> ") == "a -> b -> a");
  CHECK(join_list({"", "x", "y"}, ", ") == "x, y");  // as the commands always printed
}

TEST_CASE("command lines of the mailbox commands") {
  auto P = [](std::vector<std::string> v) { return parse_args(v); };
  auto a = P({"alias", "add", "team@example.org", "a@example.org", "b@x.example"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kAliasAdd);
  CHECK(a->values == std::vector<std::string>{"a@example.org", "b@x.example"});
  CHECK_FALSE(P({"alias", "add", "team@example.org"}).is_ok());
  CHECK(P({"alias", "del", "team@example.org"})->values.empty());
  CHECK(P({"alias", "list"})->command == Command::kAliasList);
  CHECK(P({"domain", "alias", "example.net", "example.org"})->target2 == "example.org");
  CHECK_FALSE(P({"domain", "alias", "example.net"}).is_ok());
  CHECK(P({"domain", "set", "example.org", "catchall=x@example.org"})->values.size() == 1);
  CHECK_FALSE(P({"domain", "set", "example.org"}).is_ok());
  CHECK(P({"domain", "show", "example.org"})->command == Command::kDomainShow);
  CHECK(P({"user", "set", "a@example.org", "quota=1M", "disabled=yes"})->values.size() == 2);
  CHECK(P({"user", "show", "a@example.org"})->command == Command::kUserShow);
  auto ar = P({"user", "autoreply", "a@example.org", "on", "--subject", "Away", "--text", "-back soon-",
               "--start", "2030-01-01", "--end", "2030-01-10", "--interval", "3"});
  REQUIRE(ar.is_ok());
  CHECK(ar->autoreply.on);
  CHECK(*ar->autoreply.subject == "Away");
  CHECK(*ar->autoreply.text == "-back soon-");  // a value, not an option
  CHECK(*ar->autoreply.interval == "3");
  CHECK_FALSE(P({"user", "autoreply", "a@example.org", "maybe"}).is_ok());
  CHECK_FALSE(P({"user", "autoreply", "a@example.org", "on", "--text"}).is_ok());
  CHECK_FALSE(P({"user", "autoreply", "a@example.org", "on", "--text", "x", "--text-file", "f"}).is_ok());
  CHECK_FALSE(P({"user", "show", "a@example.org", "--subject", "x"}).is_ok());
}
