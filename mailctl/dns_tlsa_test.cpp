// Tests for check-dns's DANE judgement (dns_tlsa.hpp): no records (with the record to
// publish for this server's own MX host), a matching record, a wrong or unusable one
// (a problem, with the exact record), unsigned records, failed lookups, and the forms
// that are not compared.
#include "mailctl/dns_tlsa.hpp"

#include <doctest/doctest.h>

using namespace mailctl;
using common::dns::Lookup;
using common::dns::Security;
using common::dns::TlsaRecord;

namespace {

const std::string kKey(32, '\x11');  // our key's digest
const std::string kHex = std::string(64, '1');

TlsaHostCheck host(bool ours, Lookup st, std::vector<TlsaRecord> records = {},
                   Security sec = Security::kSecure) {
  TlsaHostCheck h;
  h.host = "mx.example.test";
  h.ours = ours;
  h.answer.status = st;
  h.answer.security = sec;
  h.answer.records = std::move(records);
  if (st == Lookup::kTempFail) h.answer.error = "no answer within 10 seconds";
  return h;
}

TlsaCheck check(TlsaHostCheck h) {
  TlsaCheck c;
  c.validating = true;
  c.own_spki_sha256 = kKey;
  c.hosts.push_back(std::move(h));
  return c;
}

std::string all_lines(const TlsaReport& r) {
  std::string s;
  for (const auto& [k, v] : r.lines) s += k + " " + v + "\n";
  return s;
}

}  // namespace

TEST_CASE("the record to publish") {
  CHECK(tlsa_publish("mx.example.test", kKey) == "_25._tcp.mx.example.test. IN TLSA 3 1 1 " + kHex);
  CHECK(matches_own_key(TlsaRecord{3, 1, 1, kKey}, kKey));
  CHECK_FALSE(matches_own_key(TlsaRecord{3, 1, 1, std::string(32, 'x')}, kKey));
  CHECK_FALSE(matches_own_key(TlsaRecord{2, 1, 1, kKey}, kKey));
  CHECK_FALSE(matches_own_key(TlsaRecord{3, 1, 1, ""}, ""));
}

TEST_CASE("no records for our own MX host: the record to publish, not a problem") {
  auto r = evaluate_tlsa(check(host(true, Lookup::kNxDomain)), true);
  CHECK(r.problems.empty());
  CHECK(r.failures.empty());
  CHECK(all_lines(r) ==
        "TLSA _25._tcp.mx.example.test: none; to use DANE, sign the zone (DNSSEC) and publish: "
        "_25._tcp.mx.example.test. IN TLSA 3 1 1 " +
            kHex + "\n");
  // Someone else's host, or not our domain: nothing to say.
  CHECK(evaluate_tlsa(check(host(false, Lookup::kNoData)), true).lines.empty());
  CHECK(evaluate_tlsa(check(host(true, Lookup::kNoData)), false).lines.empty());
}

TEST_CASE("a record that matches our certificate") {
  auto r = evaluate_tlsa(check(host(true, Lookup::kOk, {TlsaRecord{3, 1, 1, kKey}})), true);
  CHECK(r.problems.empty());
  CHECK(all_lines(r) == "TLSA _25._tcp.mx.example.test: 3 1 1 " + kHex +
                            " (DNSSEC-signed)\n _25._tcp.mx.example.test: matches this server's certificate "
                            "(tls_cert_file)\n");
}

TEST_CASE("a wrong record: a problem with the exact record to publish") {
  auto r =
      evaluate_tlsa(check(host(true, Lookup::kOk, {TlsaRecord{3, 1, 1, std::string(32, '\x22')}})), true);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0] ==
        "no TLSA record at _25._tcp.mx.example.test matches this server's certificate (tls_cert_file): DANE "
        "senders will not deliver here; publish: _25._tcp.mx.example.test. IN TLSA 3 1 1 " +
            kHex);
}

TEST_CASE("only unusable records: a problem") {
  auto r = evaluate_tlsa(check(host(true, Lookup::kOk, {TlsaRecord{1, 1, 1, kKey}})), true);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("is usable for SMTP (RFC 7672 3.1.3") != std::string::npos);
  CHECK(all_lines(r).find("1 1 1 " + kHex + " (unusable for SMTP) (DNSSEC-signed)") != std::string::npos);
}

TEST_CASE("DANE-TA records are shown, not compared") {
  auto r = evaluate_tlsa(check(host(true, Lookup::kOk, {TlsaRecord{2, 0, 1, std::string(32, 'x')}})), true);
  CHECK(r.problems.empty());
  CHECK(all_lines(r).find("the other forms are not checked here") != std::string::npos);
}

TEST_CASE("unsigned records are a problem when validating, noted when not") {
  auto r =
      evaluate_tlsa(check(host(false, Lookup::kOk, {TlsaRecord{3, 1, 1, kKey}}, Security::kInsecure)), true);
  REQUIRE(r.problems.size() == 1);
  CHECK(
      r.problems[0] ==
      "the TLSA records at _25._tcp.mx.example.test are not DNSSEC-signed, so senders ignore them (RFC 7672 "
      "2.2): sign the zone");
  auto c = check(host(false, Lookup::kOk, {TlsaRecord{3, 1, 1, kKey}}, Security::kInsecure));
  c.validating = false;
  r = evaluate_tlsa(c, true);
  CHECK(r.problems.empty());
  CHECK(all_lines(r).find("(not validated: no dns_trust_anchor)") != std::string::npos);
}

TEST_CASE("a failed TLSA lookup is a failure (incomplete), any host") {
  auto r = evaluate_tlsa(check(host(false, Lookup::kTempFail)), false);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0] == "TLSA of _25._tcp.mx.example.test: no answer within 10 seconds");
}

TEST_CASE("no certificate: why there is no record to suggest") {
  auto c = check(host(true, Lookup::kNoData));
  c.own_spki_sha256.clear();
  c.own_note = "tls_cert_file is not set";
  auto r = evaluate_tlsa(c, true);
  CHECK(all_lines(r) ==
        "TLSA _25._tcp.mx.example.test: none; no record to suggest: tls_cert_file is not set\n");
}
