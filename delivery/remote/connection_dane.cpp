// The DANE and MTA-STS side of the outgoing connection (see connection.hpp): the TLS
// policy an endpoint's DANE decision or MTA-STS mode imposes, OpenSSL's DANE verifier set
// up with its TLSA records (RFC 7672 3), the certificate check that MTA-STS testing mode
// only reports (RFC 8461 5), and the "dane:" and "mta-sts:" log lines.
#include <openssl/x509v3.h>

#include "common/log/log.hpp"
#include "common/tls/tls.hpp"
#include "common/tlsrpt/record.hpp"
#include "delivery/remote/connection.hpp"
#include "delivery/remote/tls_report.hpp"

namespace delivery::remote {

namespace smtp = common::smtp;

smtp::TlsPolicy Connection::endpoint_policy() const {
  if (index_ >= endpoints_.size()) return options_.tls;
  switch (endpoints_[index_].dane.mode) {
    case DaneMode::kAuthenticate:
      // Checked against the TLSA records in begin_tls (not against the CA store).
      return smtp::TlsPolicy::kVerify;
    case DaneMode::kEncrypt:
      return options_.tls == smtp::TlsPolicy::kVerify ? smtp::TlsPolicy::kVerify : smtp::TlsPolicy::kEncrypt;
    case DaneMode::kNone:
    case DaneMode::kSkip: break;
  }
  // RFC 8461 4.2: under mode enforce, TLS with a certificate that verifies (WebPKI) and
  // names the MX host, or the host is not used.
  if (endpoints_[index_].sts == StsMode::kEnforce) return smtp::TlsPolicy::kVerify;
  return options_.tls;
}

void Connection::setup_sts_testing(SSL* ssl, const Endpoint& ep) {
  // The chain and the MX host's name are checked, but a failure does not stop the
  // handshake (SSL_VERIFY_NONE still records the result): testing mode reports only.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, ep.host.c_str()) != 1) log_sts("testing: cannot check the certificate's name");
  SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
}

void Connection::sts_tls_done() {
  const Endpoint& ep = endpoints_[index_];
  // RFC 8460 4.3.2.3: DANE's records none of which is usable count as tlsa-invalid.
  std::string result = ep.dane.mode == DaneMode::kEncrypt ? common::tlsrpt::kTlsaInvalid : "";
  if (ep.sts == StsMode::kEnforce) {
    log_sts("certificate verified for " + ep.host + " (policy mode enforce)");
  } else if (ep.sts == StsMode::kTesting && ssl_) {
    long v = SSL_get_verify_result(ssl_);
    if (v == X509_V_OK && ep.sts_listed) {
      log_sts("certificate verified for " + ep.host + " (policy mode testing)");
    } else if (v != X509_V_OK) {
      log_sts(std::string("testing: certificate would not be accepted under enforce: ") +
              X509_verify_cert_error_string(v) + "; delivering, since the mode is testing");
      result = result_for_verify(v);
    } else {
      result = common::tlsrpt::kValidationFailure;  // an MX host the policy does not name
    }
  }
  report_tls(result);
}

void Connection::report_tls(const std::string& result) {
  if (tls_report_ && index_ < endpoints_.size()) tls_report_(endpoints_[index_], result);
}

void Connection::log_sts(const std::string& what) const {
  common::log::info("%s%smta-sts: %s: %s", log_tag_.c_str(), log_tag_.empty() ? "" : ": ", peer_.c_str(),
                    what.c_str());
}

std::string Connection::setup_dane(SSL* ssl, const Endpoint& ep) {
  // RFC 7672 3.2.2: DANE-TA(2) certificates must name the MX host (the TLSA base
  // domain); SSL_dane_enable makes it the reference identifier and the SNI name.
  if (SSL_dane_enable(ssl, ep.host.c_str()) <= 0) return "SSL_dane_enable: " + common::tls::last_error();
  // RFC 7672 3.1.1: DANE-EE(3) binds the key itself: no name check (nor, in OpenSSL,
  // any expiry check) for a leaf that matches one.
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int added = 0;
  for (const auto& r : ep.dane.records) {
    int rc = SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.mtype,
                               reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
    if (rc > 0) ++added;
    if (rc < 0) return "SSL_dane_tlsa_add: " + common::tls::last_error();
  }
  if (added == 0) return "no TLSA record OpenSSL can use";
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return "";
}

void Connection::log_dane(const std::string& what) const {
  common::log::info("%s%sdane: %s: %s", log_tag_.c_str(), log_tag_.empty() ? "" : ": ", peer_.c_str(),
                    what.c_str());
}

}  // namespace delivery::remote
