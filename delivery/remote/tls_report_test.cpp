// Unit tests for what a TLS session counts as in the RFC 8460 reports: the policy it was
// judged under and the result type of a certificate failure.
#include "delivery/remote/tls_report.hpp"

#include <doctest/doctest.h>
#include <openssl/x509_vfy.h>

using namespace delivery::remote;
namespace tlsrpt = common::tlsrpt;

TEST_CASE("tls report: certificate failures by kind") {
  CHECK(std::string(result_for_verify(X509_V_ERR_CERT_HAS_EXPIRED)) == tlsrpt::kCertificateExpired);
  CHECK(std::string(result_for_verify(X509_V_ERR_HOSTNAME_MISMATCH)) == tlsrpt::kCertificateHostMismatch);
  CHECK(std::string(result_for_verify(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)) ==
        tlsrpt::kCertificateNotTrusted);
  CHECK(std::string(result_for_verify(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)) ==
        tlsrpt::kCertificateNotTrusted);
  CHECK(std::string(result_for_verify(X509_V_ERR_DANE_NO_MATCH)) == tlsrpt::kValidationFailure);
}

TEST_CASE("tls report: DANE decides first, then MTA-STS, else no policy") {
  StsPolicy sts;
  sts.mode = StsMode::kTesting;
  sts.max_age = 600;
  sts.mx = {"*.example.com"};
  Endpoint ep;
  ep.host = "mx.example.com";
  ep.ip = "192.0.2.1";

  auto none = policy_for("example.com", ep, std::nullopt, false);
  CHECK(none.type == tlsrpt::PolicyType::kNoPolicy);
  CHECK(none.domain == "example.com");
  CHECK(none.strings.empty());

  // A policy the endpoint was not placed under (DANE took over) does not count.
  CHECK(policy_for("example.com", ep, sts, false).type == tlsrpt::PolicyType::kNoPolicy);

  ep.sts = StsMode::kTesting;
  auto p = policy_for("example.com", ep, sts, false);
  CHECK(p.type == tlsrpt::PolicyType::kSts);
  CHECK(p.strings ==
        std::vector<std::string>{"version: STSv1", "mode: testing", "mx: *.example.com", "max_age: 600"});
  CHECK(p.mx == sts.mx);

  ep.dane.mode = DaneMode::kAuthenticate;
  ep.dane.records.push_back(common::dns::TlsaRecord{3, 1, 1, std::string("\xab\xcd", 2)});
  auto d = policy_for("example.com", ep, sts, false);
  CHECK(d.type == tlsrpt::PolicyType::kTlsa);
  CHECK(d.strings == std::vector<std::string>{"3 1 1 abcd"});
  CHECK(d.mx == std::vector<std::string>{"mx.example.com"});

  Endpoint plain;
  plain.host = "mx.example.com";
  auto f = policy_for("example.com", plain, std::nullopt, true);
  CHECK(f.type == tlsrpt::PolicyType::kSts);  // the fetch failed: sts-policy-fetch-error
  CHECK(f.strings.empty());
}
