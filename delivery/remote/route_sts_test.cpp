// Tests of MTA-STS enforcement on a route (delivery/remote/route_sts.hpp): which hosts
// stay under enforce and testing, the deferral when none is left, and DANE first.
#include "delivery/remote/route_sts.hpp"

#include <doctest/doctest.h>

using namespace delivery::remote;

namespace {

Route two_hosts() {
  Route r;
  r.endpoints.push_back(Endpoint{"mx1.example", "192.0.2.1", 25, {}});
  r.endpoints.push_back(Endpoint{"evil.example", "192.0.2.2", 25, {}});
  return r;
}

StsPolicy policy(StsMode m) {
  StsPolicy p;
  p.mode = m;
  p.max_age = 600;
  p.mx = {"*.example"};
  return p;
}

}  // namespace

TEST_CASE("enforce: only hosts the policy names, each with verified TLS") {
  Route r = two_hosts();
  StsPolicy p = policy(StsMode::kEnforce);
  p.mx = {"mx1.example"};
  auto notes = apply_sts("example", p, &r);
  REQUIRE(r.ok());
  REQUIRE(r.endpoints.size() == 1);
  CHECK(r.endpoints[0].host == "mx1.example");
  CHECK(r.endpoints[0].sts == StsMode::kEnforce);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "MX host evil.example is not in the policy (mx: mx1.example), not used");
}

TEST_CASE("enforce: no host left defers the message") {
  Route r = two_hosts();
  StsPolicy p = policy(StsMode::kEnforce);
  p.mx = {"other.test"};
  apply_sts("example", p, &r);
  CHECK_FALSE(r.ok());
  CHECK(r.failure.outcome == common::mail::Outcome::kTemporary);
  CHECK(r.failure.text == "MTA-STS: no MX host of example matches its policy (mx: other.test, mode enforce)");
}

TEST_CASE("testing: every host is used, a mismatch is reported") {
  Route r = two_hosts();
  StsPolicy p = policy(StsMode::kTesting);
  p.mx = {"mx1.example"};
  auto notes = apply_sts("example", p, &r);
  REQUIRE(r.endpoints.size() == 2);
  CHECK(r.endpoints[1].sts == StsMode::kTesting);
  CHECK_FALSE(r.endpoints[1].sts_listed);
  CHECK(r.endpoints[0].sts_listed);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("testing: MX host evil.example is not in the policy") == 0);
}

TEST_CASE("DANE takes precedence (RFC 8461 2); mode none changes nothing") {
  Route r = two_hosts();
  r.endpoints[0].dane.mode = DaneMode::kAuthenticate;
  auto notes = apply_sts("example", policy(StsMode::kEnforce), &r);
  CHECK(r.endpoints.size() == 2);
  CHECK(r.endpoints[1].sts == StsMode::kNone);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("DANE applies to mx1.example") == 0);
  Route n = two_hosts();
  CHECK(apply_sts("example", policy(StsMode::kNone), &n).empty());
  CHECK(n.endpoints.size() == 2);
}
