// Tests of the DANE decision (delivery/remote/dane.hpp): one case per row of the RFC
// 7672 2.1-2.2 table, the address security that feeds it, the decision on each route
// endpoint, and the settings that turn DANE on.
#include "delivery/remote/dane.hpp"

#include <doctest/doctest.h>

#include "delivery/remote/route.hpp"
#include "delivery/remote/settings.hpp"

using namespace delivery::remote;
using common::dns::AddrAnswer;
using common::dns::Lookup;
using common::dns::Security;
using common::dns::TlsaAnswer;
using common::dns::TlsaRecord;

namespace {

constexpr Security kSec = Security::kSecure;
constexpr Security kIns = Security::kInsecure;
constexpr Security kBog = Security::kBogus;

TlsaRecord rec(std::uint8_t usage) { return TlsaRecord{usage, 1, 1, std::string(32, 'h')}; }

TlsaAnswer answer(Lookup st, Security sec, std::vector<TlsaRecord> rs = {}, std::size_t malformed = 0) {
  TlsaAnswer a;
  a.status = st;
  a.security = sec;
  a.records = std::move(rs);
  a.malformed = malformed;
  if (st == Lookup::kTempFail) a.error = "DNS lookup timed out";
  return a;
}

AddrAnswer addr(Lookup st, Security sec) {
  AddrAnswer a;
  a.status = st;
  a.security = sec;
  if (st == Lookup::kOk) a.addrs.push_back("192.0.2.1");
  return a;
}

}  // namespace

TEST_CASE("DANE off: nothing is looked up, the configured policy applies") {
  CHECK_FALSE(wants_tlsa(false, kSec, kSec));
  auto a = answer(Lookup::kOk, kSec, {rec(3)});
  auto d = decide_dane(false, kSec, kSec, &a);
  CHECK(d.mode == DaneMode::kNone);
  CHECK(d.why.empty());
}

TEST_CASE("insecure MX RRset: no DANE for the destination (RFC 7672 2.2.1)") {
  CHECK_FALSE(wants_tlsa(true, kIns, kSec));
  auto d = decide_dane(true, kIns, kSec, nullptr);
  CHECK(d.mode == DaneMode::kNone);
  CHECK(d.why == "MX records not DNSSEC-signed, no DANE");
}

TEST_CASE("insecure host addresses: no TLSA lookup, no DANE (RFC 7672 2.2.2)") {
  CHECK_FALSE(wants_tlsa(true, kSec, kIns));
  auto d = decide_dane(true, kSec, kIns, nullptr);
  CHECK(d.mode == DaneMode::kNone);
  CHECK(d.why == "address records not DNSSEC-signed, no DANE");
}

TEST_CASE("bogus MX or addresses: the host is skipped") {
  CHECK_FALSE(wants_tlsa(true, kBog, kSec));
  CHECK(decide_dane(true, kBog, kSec, nullptr).mode == DaneMode::kSkip);
  CHECK(decide_dane(true, kSec, kBog, nullptr).mode == DaneMode::kSkip);
}

TEST_CASE("secure MX and addresses: TLSA is looked up") {
  CHECK(wants_tlsa(true, kSec, kSec));
  CHECK(decide_dane(true, kSec, kSec, nullptr).mode == DaneMode::kNone);
}

TEST_CASE("secure usable TLSA records: authenticate with exactly those (RFC 7672 2.2, 3.1.3)") {
  auto a = answer(Lookup::kOk, kSec, {rec(3), rec(1), rec(2), rec(0)}, 1);
  auto d = decide_dane(true, kSec, kSec, &a);
  CHECK(d.mode == DaneMode::kAuthenticate);
  REQUIRE(d.records.size() == 2);
  CHECK(d.records[0].usage == 3);
  CHECK(d.records[1].usage == 2);
  CHECK(d.why == "2 usable TLSA records, TLS must match them");
}

TEST_CASE("secure TLSA records, none usable: TLS without authentication (RFC 7672 2.2)") {
  auto a = answer(Lookup::kOk, kSec, {rec(0), rec(1)}, 1);
  auto d = decide_dane(true, kSec, kSec, &a);
  CHECK(d.mode == DaneMode::kEncrypt);
  CHECK(d.records.empty());
  CHECK(
      d.why ==
      "TLSA records present but none usable (2 unusable, 1 malformed), TLS required without authentication");
  auto only_malformed = answer(Lookup::kOk, kSec, {}, 2);
  CHECK(decide_dane(true, kSec, kSec, &only_malformed).mode == DaneMode::kEncrypt);
}

TEST_CASE("secure denial of TLSA records: no DANE") {
  for (Lookup st : {Lookup::kNoData, Lookup::kNxDomain}) {
    auto a = answer(st, kSec);
    auto d = decide_dane(true, kSec, kSec, &a);
    CHECK(d.mode == DaneMode::kNone);
    CHECK(d.why == "no TLSA records (DNSSEC-proven), no DANE");
  }
}

TEST_CASE("insecure TLSA answers: no DANE") {
  auto nodata = answer(Lookup::kNoData, kIns);
  CHECK(decide_dane(true, kSec, kSec, &nodata).mode == DaneMode::kNone);
  auto records = answer(Lookup::kOk, kIns, {rec(3)});
  auto d = decide_dane(true, kSec, kSec, &records);
  CHECK(d.mode == DaneMode::kNone);
  CHECK(d.why == "TLSA records not DNSSEC-signed, no DANE");
}

TEST_CASE("failed or bogus TLSA lookup: the host is not used, never in clear (RFC 7672 2.2)") {
  auto fail = answer(Lookup::kTempFail, kIns);
  auto d = decide_dane(true, kSec, kSec, &fail);
  CHECK(d.mode == DaneMode::kSkip);
  CHECK(d.why == "TLSA lookup failed, host skipped: DNS lookup timed out");
  auto bogus = answer(Lookup::kTempFail, kBog);
  bogus.error = "DNSSEC validation failed (bogus)";
  d = decide_dane(true, kSec, kSec, &bogus);
  CHECK(d.mode == DaneMode::kSkip);
  CHECK(d.why == "TLSA bogus, host skipped: DNSSEC validation failed (bogus)");
}

TEST_CASE("address_security: every answer with addresses must be secure") {
  CHECK(address_security(addr(Lookup::kOk, kSec), addr(Lookup::kNoData, kIns)) == kSec);
  CHECK(address_security(addr(Lookup::kOk, kSec), addr(Lookup::kOk, kSec)) == kSec);
  CHECK(address_security(addr(Lookup::kOk, kSec), addr(Lookup::kOk, kIns)) == kIns);
  CHECK(address_security(addr(Lookup::kNoData, kSec), addr(Lookup::kNoData, kSec)) == kIns);
  CHECK(address_security(addr(Lookup::kOk, kSec), addr(Lookup::kTempFail, kBog)) == kBog);
  CHECK(address_security(addr(Lookup::kOk, kIns), addr(Lookup::kNoData, kSec)) == kIns);
}

TEST_CASE("route: each endpoint carries its host's DANE decision") {
  Target t = target_for_domain("example.test");
  t.dane = true;
  HostAddresses signed_host;
  signed_host.mx = common::dns::MxHost{10, "mx1.example.test"};
  signed_host.mx_security = kSec;
  signed_host.v4 = addr(Lookup::kOk, kSec);
  signed_host.v6 = addr(Lookup::kNoData, kSec);
  signed_host.tlsa = answer(Lookup::kOk, kSec, {rec(3)});
  HostAddresses plain_host;
  plain_host.mx = common::dns::MxHost{20, "mx2.example.test"};
  plain_host.mx_security = kSec;
  plain_host.v4 = addr(Lookup::kOk, kIns);
  plain_host.v4.addrs = {"192.0.2.2"};
  Self self;
  auto r = route_from_hosts(t, {signed_host, plain_host}, self);
  REQUIRE(r.ok());
  REQUIRE(r.endpoints.size() == 2);
  CHECK(r.endpoints[0].dane.mode == DaneMode::kAuthenticate);
  CHECK(r.endpoints[0].dane.records.size() == 1);
  CHECK(r.endpoints[1].dane.mode == DaneMode::kNone);
  CHECK(r.endpoints[1].dane.why == "address records not DNSSEC-signed, no DANE");
  t.dane = false;
  r = route_from_hosts(t, {signed_host, plain_host}, self);
  CHECK(r.endpoints[0].dane.mode == DaneMode::kNone);
  CHECK(r.endpoints[0].dane.why.empty());
}

TEST_CASE("settings: DANE needs a trust anchor; smtp_dane = no turns it off") {
  auto on = common::config::parse("dns_trust_anchor = /usr/share/dns/root.key\n", "t.conf");
  REQUIRE(on.is_ok());
  auto s = make_settings(*on, {});
  REQUIRE(s.is_ok());
  CHECK(s->dane);
  CHECK(s->trust_anchor == "/usr/share/dns/root.key");
  auto none = common::config::parse("", "t.conf");
  REQUIRE(none.is_ok());
  CHECK_FALSE(make_settings(*none, {})->dane);
  auto off = common::config::parse("dns_trust_anchor = /usr/share/dns/root.key\nsmtp_dane = no\n", "t.conf");
  REQUIRE(off.is_ok());
  CHECK_FALSE(make_settings(*off, {})->dane);
  CHECK_FALSE(common::config::parse("dns_trust_anchor = root.key\n", "t.conf").is_ok());
}
