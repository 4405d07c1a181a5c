// Implementation of the remote agent's TLS session records (see tls_report.hpp).
#include "delivery/remote/tls_report.hpp"

#include <openssl/x509_vfy.h>

#include <ctime>

#include "common/dns/tlsa.hpp"
#include "common/log/log.hpp"
#include "common/tlsrpt/store.hpp"

namespace delivery::remote {

namespace tlsrpt = common::tlsrpt;

const char* result_for_verify(long v) {
  switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: return tlsrpt::kCertificateExpired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return tlsrpt::kCertificateHostMismatch;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REVOKED: return tlsrpt::kCertificateNotTrusted;
    default: break;
  }
  return tlsrpt::kValidationFailure;
}

std::vector<std::string> sts_policy_strings(const StsPolicy& p) {
  std::vector<std::string> out{"version: STSv1", std::string("mode: ") + sts_mode_name(p.mode)};
  for (const auto& m : p.mx) out.push_back("mx: " + m);
  out.push_back("max_age: " + std::to_string(p.max_age));
  return out;
}

tlsrpt::Policy policy_for(const std::string& domain, const Endpoint& ep, const std::optional<StsPolicy>& sts,
                          bool sts_fetch_failed) {
  tlsrpt::Policy p;
  p.domain = domain;
  if (ep.dane.mode != DaneMode::kNone) {
    p.type = tlsrpt::PolicyType::kTlsa;
    for (const auto& r : ep.dane.records) p.strings.push_back(common::dns::tlsa_text(r));
    p.mx = {ep.host};
  } else if (ep.sts != StsMode::kNone && sts) {
    p.type = tlsrpt::PolicyType::kSts;
    p.strings = sts_policy_strings(*sts);
    p.mx = sts->mx;
  } else if (sts_fetch_failed) {
    p.type = tlsrpt::PolicyType::kSts;
  }
  return p;
}

void TlsReporter::record(const tlsrpt::Session& s, const std::string& log_tag) {
  common::log::info("%s%stls-report: %s: %s policy, %s[%s]: %s", log_tag.c_str(), log_tag.empty() ? "" : ": ",
                    s.policy.domain.c_str(), tlsrpt::policy_type_name(s.policy.type),
                    common::log::printable(s.mx, 255).c_str(), s.ip.c_str(),
                    s.result.empty() ? "success" : ("failure, " + s.result).c_str());
  auto st = tlsrpt::append_lines(dir_, tlsrpt::day_of(s.time), tlsrpt::format_session(s));
  if (!st && s.time - last_warning_ >= 60) {
    last_warning_ = s.time;
    common::log::warn("tls-report: session not recorded: %s", st.message().c_str());
  }
}

}  // namespace delivery::remote
