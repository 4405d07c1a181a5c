// Unit tests for the aggregate TLS report: the JSON members RFC 8460 4.4 names, the
// gzip attachment and the report mail's header fields (RFC 8460 5.3).
#include "common/tlsrpt/report.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include "common/mail/base64.hpp"

using namespace common::tlsrpt;

namespace {

std::string gunzip(const std::string& gz) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(1 << 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

ReportInfo info() {
  ReportInfo i;
  i.organization = "sender.example";
  i.contact = "postmaster@sender.example";
  i.submitter = "sender.example";
  i.hostname = "mail.sender.example";
  i.day = "2023-11-14";
  i.now = 1700000000;
  i.unique = "Q1";
  return i;
}

}  // namespace

TEST_CASE("report JSON: date range, policies, summary and failure details") {
  Policy p;
  p.type = PolicyType::kSts;
  p.domain = "example.com";
  p.strings = {"version: STSv1", "mode: testing"};
  p.mx = {"*.example.com"};
  PolicyCounts c;
  c.successes = 5;
  c.failures = 2;
  c.details[FailureKey{kCertificateNotTrusted, "mx.example.com", "192.0.2.1"}] = 2;
  Policy none;
  none.domain = "example.com";
  PolicyCounts c2;
  c2.successes = 1;
  std::map<Policy, PolicyCounts> m{{p, c}, {none, c2}};
  std::string j = report_json(info(), "example.com", m);
  CHECK(
      j ==
      R"({"organization-name":"sender.example","date-range":{"start-datetime":"2023-11-14T00:00:00Z",)"
      R"("end-datetime":"2023-11-14T23:59:59Z"},"contact-info":"postmaster@sender.example",)"
      R"("report-id":"2023-11-14.Q1.example.com@sender.example","policies":[{"policy":{"policy-type":"sts",)"
      R"("policy-string":["version: STSv1","mode: testing"],"policy-domain":"example.com",)"
      R"("mx-host":["*.example.com"]},"summary":{"total-successful-session-count":5,)"
      R"("total-failure-session-count":2},"failure-details":[{"result-type":"certificate-not-trusted",)"
      R"("receiving-mx-hostname":"mx.example.com","receiving-ip":"192.0.2.1","failed-session-count":2}]},)"
      R"({"policy":{"policy-type":"no-policy-found","policy-domain":"example.com"},)"
      R"("summary":{"total-successful-session-count":1,"total-failure-session-count":0}}]})");
}

TEST_CASE("gzip output inflates back") {
  std::string data(5000, 'x');
  data += "tail";
  auto gz = gzip(data);
  REQUIRE(gz);
  CHECK(gz->size() < 200);
  CHECK(static_cast<unsigned char>((*gz)[0]) == 0x1f);
  CHECK(static_cast<unsigned char>((*gz)[1]) == 0x8b);
  CHECK(gunzip(*gz) == data);
}

TEST_CASE("the report mail: RFC 8460 5.3 header fields and the attachment") {
  auto gz = gzip("{}");
  REQUIRE(gz);
  std::string m = report_message(info(), "example.com", {"rua@example.com"}, *gz);
  CHECK(m.find("From: postmaster@sender.example\r\n") != std::string::npos);
  CHECK(m.find("To: rua@example.com\r\n") != std::string::npos);
  CHECK(m.find("Subject: Report Domain: example.com Submitter: sender.example Report-ID: "
               "<2023-11-14.Q1.example.com@sender.example>\r\n") != std::string::npos);
  CHECK(m.find("TLS-Report-Domain: example.com\r\n") != std::string::npos);
  CHECK(m.find("TLS-Report-Submitter: sender.example\r\n") != std::string::npos);
  CHECK(m.find("multipart/report; report-type=\"tlsrpt\"") != std::string::npos);
  CHECK(m.find("Content-Type: application/tlsrpt+gzip\r\n") != std::string::npos);
  CHECK(m.find("filename=\"sender.example!example.com!1699920000!1700006399!Q1.json.gz\"") !=
        std::string::npos);
  auto at = m.find("base64\r\n");
  REQUIRE(at != std::string::npos);
  auto body = m.find("\r\n\r\n", at) + 4;
  auto end = m.find("\r\n", body);
  auto dec = common::mail::decode_base64(m.substr(body, end - body));
  REQUIRE(dec);
  CHECK(gunzip(*dec) == "{}");
  for (std::size_t i = 0; i + 1 < m.size(); ++i)
    if (m[i + 1] == '\n') CHECK(m[i] == '\r');
}
