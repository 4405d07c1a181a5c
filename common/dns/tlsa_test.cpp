// Tests of the TLSA record helpers (common/dns/tlsa.hpp): the RFC 6698 2.1 RDATA edges,
// the RFC 7672 3.1.3 usability rule and the presentation form.
#include "common/dns/tlsa.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace common::dns;

namespace {

common::Result<TlsaRecord> decode(const std::string& rd) {
  return decode_tlsa(reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size());
}

std::string rdata(int u, int s, int m, std::string data) {
  std::string out;
  out.push_back(static_cast<char>(u));
  out.push_back(static_cast<char>(s));
  out.push_back(static_cast<char>(m));
  return out + data;
}

}  // namespace

TEST_CASE("decode_tlsa: the fixed fields and the association data (RFC 6698 2.1)") {
  auto r = decode(rdata(3, 1, 1, std::string(32, '\xab')));
  REQUIRE(r.is_ok());
  CHECK(r->usage == kDaneEe);
  CHECK(r->selector == kSelSpki);
  CHECK(r->mtype == kMatchSha256);
  CHECK(r->data == std::string(32, '\xab'));
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  CHECK(tlsa_text(*r) == "3 1 1 " + hex);
  auto full = decode(rdata(2, 0, 0, "\x30\x82\x01"));
  REQUIRE(full.is_ok());
  CHECK(full->data.size() == 3);
  auto sha512 = decode(rdata(2, 0, 2, std::string(64, '\0')));
  CHECK(sha512.is_ok());
}

TEST_CASE("decode_tlsa: malformed records") {
  CHECK_FALSE(decode_tlsa(nullptr, 0).is_ok());
  CHECK_FALSE(decode("").is_ok());
  CHECK_FALSE(decode(std::string("\x03\x01\x01", 3)).is_ok());  // no data at all
  CHECK(decode(rdata(3, 1, 1, std::string(31, 'x'))).message() == "TLSA SHA2-256 data is 31 bytes, not 32");
  CHECK_FALSE(decode(rdata(3, 1, 1, std::string(33, 'x'))).is_ok());
  CHECK_FALSE(decode(rdata(3, 1, 2, std::string(32, 'x'))).is_ok());
  CHECK_FALSE(decode(rdata(3, 0, 0, std::string(kMaxTlsaData + 1, 'x'))).is_ok());
  CHECK(decode(rdata(3, 0, 0, std::string(kMaxTlsaData, 'x'))).is_ok());
  // Unknown parameters decode (they are merely unusable, RFC 7671 4).
  auto odd = decode(rdata(255, 255, 255, "z"));
  REQUIRE(odd.is_ok());
  CHECK_FALSE(usable_for_smtp(*odd));
}

TEST_CASE("usable_for_smtp: DANE-TA and DANE-EE only (RFC 7672 3.1.3)") {
  TlsaRecord r;
  r.selector = kSelSpki;
  r.mtype = kMatchSha256;
  for (int u : {0, 1, 4}) {
    r.usage = static_cast<std::uint8_t>(u);
    CHECK_FALSE(usable_for_smtp(r));
  }
  for (int u : {2, 3}) {
    r.usage = static_cast<std::uint8_t>(u);
    CHECK(usable_for_smtp(r));
  }
  r.selector = 2;
  CHECK_FALSE(usable_for_smtp(r));
  r.selector = kSelCert;
  r.mtype = 3;
  CHECK_FALSE(usable_for_smtp(r));
}

TEST_CASE("names and text") {
  CHECK(tlsa_owner("mx.example.test", 25) == "_25._tcp.mx.example.test");
  CHECK(usage_name(3) == "DANE-EE");
  CHECK(usage_name(2) == "DANE-TA");
  CHECK(usage_name(9) == "usage 9");
  CHECK(to_hex(std::string("\x00\x0f\xf0\xff", 4)) == "000ff0ff");
}

TEST_CASE("add_tlsa_rdatas: malformed records are counted, the first fault kept") {
  TlsaAnswer a;
  a.status = Lookup::kOk;
  std::string good = rdata(3, 1, 1, std::string(32, 'g'));
  std::string short_digest = rdata(3, 1, 1, "x");
  std::string tiny = "\x03";
  add_tlsa_rdatas(&a, {short_digest, good, tiny});
  CHECK(a.records.size() == 1);
  CHECK(a.malformed == 2);
  CHECK(a.error == "TLSA SHA2-256 data is 1 bytes, not 32");
}
