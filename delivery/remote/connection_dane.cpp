// The DANE side of the outgoing connection (see connection.hpp): the TLS policy an
// endpoint's DANE decision imposes, OpenSSL's DANE verifier set up with its TLSA records
// (RFC 7672 3), and the "dane:" log lines.
#include <openssl/x509v3.h>

#include "common/log/log.hpp"
#include "common/tls/tls.hpp"
#include "delivery/remote/connection.hpp"

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
  return options_.tls;
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
