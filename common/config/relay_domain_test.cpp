// Tests of the relay_domain_settings parser: each option and its bounds, the '+' list of
// networks, duplicates, unknown options and malformed entries.
#include "common/config/relay_domain.hpp"

#include <doctest/doctest.h>

using namespace common::config;

TEST_CASE("relay domain entries: every option") {
  auto r =
      parse_relay_domain("Example.NET;lifetime=10d;max_queued=200M;release=198.51.100.7/32+2001:db8::/48");
  REQUIRE(r.is_ok());
  CHECK(r->domain == "example.net");
  CHECK(r->lifetime == 10 * 86400);
  CHECK(r->max_queued == 200ll * 1024 * 1024);
  CHECK(r->has_release);
  CHECK(r->release == std::vector<std::string>{"198.51.100.7/32", "2001:db8::/48"});
  auto bare = parse_relay_domain("backup.example");
  REQUIRE(bare.is_ok());
  CHECK(bare->lifetime == 0);
  CHECK(bare->max_queued == 0);
  CHECK_FALSE(bare->has_release);
  CHECK(parse_relay_domain("a.example;LIFETIME=1s")->lifetime == 1);
  CHECK(parse_relay_domain("a.example;lifetime=100d").is_ok());
}

TEST_CASE("relay domain entries: what is refused") {
  for (const char* bad :
       {"", ";lifetime=1d", "not a domain", "a.example;", "a.example;lifetime", "a.example;=1d",
        "a.example;lifetime=0", "a.example;lifetime=101d", "a.example;lifetime=soon",
        "a.example;lifetime=1d;lifetime=2d", "a.example;max_queued=0", "a.example;max_queued=-5",
        "a.example;max_queued=lots", "a.example;release=", "a.example;release=10.0.0.0/8+",
        "a.example;release=+10.0.0.0/8", "a.example;release=300.1.1.1/32",
        "a.example;release=10.0.0.0/8;release=10.0.0.0/8", "a.example;colour=blue"}) {
    INFO(bad);
    CHECK_FALSE(parse_relay_domain(bad).is_ok());
  }
  CHECK(parse_relay_domain("a.example;colour=blue").message().find("lifetime, max_queued, release") !=
        std::string::npos);
  CHECK_FALSE(parse_relay_domain(std::string(5000, 'a')).is_ok());
}

TEST_CASE("relay domain lists: one entry per domain, found by name") {
  auto l = parse_relay_domains({"a.example;lifetime=1d", "b.example;max_queued=1K"});
  REQUIRE(l.is_ok());
  REQUIRE(find_relay_domain(*l, "b.example"));
  CHECK(find_relay_domain(*l, "b.example")->max_queued == 1024);
  CHECK(find_relay_domain(*l, "c.example") == nullptr);
  CHECK(parse_relay_domains({}).value().empty());
  auto dup = parse_relay_domains({"a.example;lifetime=1d", "A.example;max_queued=1K"});
  CHECK_FALSE(dup.is_ok());
  CHECK(dup.message() == "a.example named twice");
}
