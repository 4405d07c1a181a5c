// Unit tests for the ETRN domain index and limits (no sockets, no disk).
#include "queue-manager/etrn_limit.hpp"

#include <doctest/doctest.h>

using namespace qmgr;

TEST_CASE("domains are indexed with their labels reversed, case-insensitively") {
  CHECK(DomainIndex::reversed("backup.example") == "example.backup");
  CHECK(DomainIndex::reversed("a.b.c") == "c.b.a");
  CHECK(DomainIndex::reversed("localhost") == "localhost");
  CHECK(DomainIndex::domain_of("Boss@Backup.EXAMPLE") == "backup.example");
  CHECK(DomainIndex::domain_of("no-domain") == "");
}

TEST_CASE("the index finds a domain, and its subdomains only when asked") {
  DomainIndex ix;
  ix.add("A", {"x@backup.example", "y@Sub.Backup.Example"});
  ix.add("B", {"z@backup.example-x"});  // a sibling, not a subdomain
  ix.add("C", {"w@deep.sub.backup.example"});
  auto exact = ix.match("BACKUP.example", false);
  REQUIRE(exact.size() == 1);
  CHECK(*exact[0].second == std::set<std::string>{"A"});
  auto sub = ix.match("backup.example", true);
  REQUIRE(sub.size() == 3);
  std::set<std::string> ids;
  for (const auto& [k, s] : sub) ids.insert(s->begin(), s->end());
  CHECK(ids == std::set<std::string>{"A", "C"});
  CHECK(ix.match("example", false).empty());
  ix.remove("A", {"x@backup.example", "y@Sub.Backup.Example"});
  ix.remove("C", {"w@deep.sub.backup.example"});
  CHECK(ix.match("backup.example", true).empty());
  CHECK(ix.domains() == 1);
}

TEST_CASE("a domain is released at most once per interval; a client has so many requests") {
  EtrnLimiter l(EtrnLimits{60, 2});
  CHECK(l.release_domain("example.backup", 1000));
  CHECK_FALSE(l.release_domain("example.backup", 1059));
  CHECK(l.release_domain("example.other", 1059));
  CHECK(l.release_domain("example.backup", 1060));
  CHECK(l.allow_client("192.0.2.1", 1000));
  CHECK(l.allow_client("192.0.2.1", 1001));
  CHECK_FALSE(l.allow_client("192.0.2.1", 1002));
  CHECK(l.allow_client("192.0.2.2", 1002));
  CHECK(l.allow_client("192.0.2.1", 1060));  // a new interval
}
