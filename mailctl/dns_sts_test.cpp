// Unit tests for check-dns's MTA-STS and TLS reporting judgement: what to publish when
// nothing is there, a policy that does not name an MX host, an unfetchable or broken
// policy, and the TLSRPT record.
#include "mailctl/dns_sts.hpp"

#include <doctest/doctest.h>

using common::dns::Lookup;
using namespace mailctl;

namespace {

std::string http(const std::string& body, const std::string& type = "text/plain") {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\n\r\n" + body;
}

std::string all(const StsReport& r) {
  std::string out;
  for (const auto& [k, v] : r.lines) out += k + ": " + v + "\n";
  for (const auto& p : r.problems) out += "problem: " + p + "\n";
  for (const auto& f : r.failures) out += "failure: " + f + "\n";
  return out;
}

}  // namespace

TEST_CASE("check-dns sts: nothing published: what to publish, no problem") {
  StsDnsCheck c;
  c.new_id = "20261207";
  auto r = evaluate_sts("example.org", c, {"mx1.example.org", "mx2.example.org"});
  CHECK(r.problems.empty());
  CHECK(r.failures.empty());
  std::string t = all(r);
  CHECK(t.find("_mta-sts.example.org. IN TXT \"v=STSv1; id=20261207\"") != std::string::npos);
  CHECK(t.find("https://mta-sts.example.org/.well-known/mta-sts.txt") != std::string::npos);
  CHECK(
      t.find(":\n             version: STSv1\n             mode: testing\n             mx: mx1.example.org\n"
             "             mx: mx2.example.org\n             max_age: 604800\n") != std::string::npos);
  CHECK(t.find("_smtp._tls.example.org. IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.org\"") !=
        std::string::npos);
  CHECK_FALSE(sts_announced(c));
}

TEST_CASE("check-dns sts: a good policy naming every MX, and a TLSRPT record") {
  StsDnsCheck c;
  c.txt_status = Lookup::kOk;
  c.txt = {"v=STSv1; id=abc1"};
  CHECK(sts_announced(c));
  c.fetched = true;
  c.response = http("version: STSv1\r\nmode: enforce\r\nmx: *.example.org\r\nmax_age: 604800\r\n");
  c.rpt_status = Lookup::kOk;
  c.rpt = {"v=TLSRPTv1; rua=mailto:tls@example.org"};
  auto r = evaluate_sts("example.org", c, {"mx1.example.org"});
  CHECK(r.problems.empty());
  std::string t = all(r);
  CHECK(t.find("MTA-STS: id abc1, mode enforce, max_age 604800, mx *.example.org") != std::string::npos);
  CHECK(t.find("TLS-RPT: reports to tls@example.org") != std::string::npos);
}

TEST_CASE("check-dns sts: an MX host the policy does not name, a short max_age") {
  StsDnsCheck c;
  c.txt_status = Lookup::kOk;
  c.txt = {"v=STSv1; id=2"};
  c.fetched = true;
  c.response = http("version: STSv1\nmode: enforce\nmx: mx1.example.org\nmax_age: 3600\n");
  auto r = evaluate_sts("example.org", c, {"mx1.example.org", "backup.example.net"});
  REQUIRE(r.problems.size() == 2);
  CHECK(r.problems[0].find("MX host backup.example.net is not named") != std::string::npos);
  CHECK(r.problems[0].find("senders refuse to deliver there") != std::string::npos);
  CHECK(r.problems[1].find("max_age 3600") != std::string::npos);
}

TEST_CASE("check-dns sts: unfetchable, wrong type, broken, and bad TXT records") {
  StsDnsCheck c;
  c.txt_status = Lookup::kOk;
  c.txt = {"v=STSv1; id=3"};
  c.fetched = true;
  c.fetch_error = "certificate not verified: self-signed certificate";
  auto r = evaluate_sts("example.org", c, {"mx.example.org"});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("cannot be fetched: certificate not verified") != std::string::npos);
  CHECK(r.problems[0].find("             mx: mx.example.org") != std::string::npos);

  c.fetch_error.clear();
  c.response = http("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n", "text/html");
  r = evaluate_sts("example.org", c, {"mx.example.org"});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("text/html") != std::string::npos);

  c.response = http("version: STSv1\nmode: enforce\n");
  r = evaluate_sts("example.org", c, {"mx.example.org"});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("unusable") != std::string::npos);

  c.txt = {"v=STSv1; id=1", "v=STSv1; id=2"};
  CHECK_FALSE(sts_announced(c));
  r = evaluate_sts("example.org", c, {"mx.example.org"});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("_mta-sts.example.org") != std::string::npos);

  c.txt_status = Lookup::kTempFail;
  c.txt_error = "SERVFAIL";
  c.rpt_status = Lookup::kOk;
  c.rpt = {"v=TLSRPTv1; rua=ftp-only"};
  r = evaluate_sts("example.org", c, {"mx.example.org"});
  CHECK(r.failures.size() == 1);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("_smtp._tls.example.org") != std::string::npos);
}
