// Unit tests for the TLSRPT policy record parser (RFC 8460 3).
#include "common/tlsrpt/txt.hpp"

#include <doctest/doctest.h>

using common::tlsrpt::parse_tlsrpt_record;
using common::tlsrpt::parse_tlsrpt_txt;

TEST_CASE("TLSRPT records: the RFC's examples and the usual forms") {
  auto r = parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:reports@example.com");
  REQUIRE(r);
  CHECK(r->mailto == std::vector<std::string>{"reports@example.com"});
  r = parse_tlsrpt_record("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
  REQUIRE(r);
  CHECK(r->mailto.empty());
  CHECK(r->https == std::vector<std::string>{"https://reporting.example.com/v1/tlsrpt"});
  r = parse_tlsrpt_record(
      "v=TLSRPTv1 ; rua = mailto:a@example.com , mailto:b%40x@example.net?subject=x, https://r.example/ ; "
      "ext_1=val ;");
  CHECK_FALSE(r);  // "rua " with a blank before '=' is not the rua field's name
  r = parse_tlsrpt_record(
      "v=TLSRPTv1 ; rua=mailto:a@example.com , mailto:B@Example.NET?subject=x, "
      "https://r.example/,ftp://x.example/ ; ext_1=val ;");
  REQUIRE(r);
  CHECK(r->mailto == std::vector<std::string>{"a@example.com", "B@example.net"});
  CHECK(r->https.size() == 1);
  r = parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:rep%6Frts@example.com");
  REQUIRE(r);
  CHECK(r->mailto[0] == "reports@example.com");
}

TEST_CASE("TLSRPT records: malformed ones are refused") {
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv2;rua=mailto:a@example.com"));
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1"));                           // no rua
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;"));                          // no rua
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1 rua=mailto:a@example.com"));  // no ';'
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:a@example.com;rua=mailto:b@example.com"));
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:not-an-address"));
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:a@example.com,"));   // empty URI
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:a%4@example.com"));  // bad escape
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:a@example.com;;x=y"));
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:a@example.com;_x=y"));  // ext name
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=https://"));
  CHECK_FALSE(parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:a@b.example,mailto:c@d.example%2Ce@f.example"));
}

TEST_CASE("TLSRPT TXT sets: exactly one v=TLSRPTv1 record, others ignored") {
  CHECK(parse_tlsrpt_txt({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.com"}));
  CHECK_FALSE(parse_tlsrpt_txt({}));
  CHECK_FALSE(parse_tlsrpt_txt({"v=spf1 -all"}));
  CHECK_FALSE(
      parse_tlsrpt_txt({"v=TLSRPTv1;rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:b@example.com"}));
  CHECK(parse_tlsrpt_txt({"v=TLSRPTv10;rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:b@example.com"}));
}
