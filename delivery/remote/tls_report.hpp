// TLS reporting (RFC 8460) on the remote agent's side: what one TLS session to an MX
// host of a recipient domain counts as, and the line written for it to the day's file
// in spool/tlsrpt (common/tlsrpt/store.hpp), which `mailctl tlsrpt send` turns into the
// daily aggregate reports. The policy and result decisions are pure (tls_report_test.cpp);
// connection.cpp reports each session's outcome, the dispatcher adds the policy.
//   RFC 8460 4.3: a session is judged under the policy that applied to the host: DANE's
//   TLSA records (policy-type tlsa), else the domain's MTA-STS policy (sts), else none
//   (no-policy-found); a failed MTA-STS policy fetch without a cached policy counts as a
//   sts-policy-fetch-error.
//   RFC 8460 4.3.2: certificate failures by their kind (expired, not trusted, host
//   mismatch), other failures as validation-failure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/tlsrpt/record.hpp"
#include "delivery/remote/mta_sts_policy.hpp"
#include "delivery/remote/route.hpp"

namespace delivery::remote {

// The result type for an X509 verification result (X509_V_*) that failed a session.
const char* result_for_verify(long verify_result);

// The policy a session to `ep` (a host of the recipient domain `domain`) was judged
// under: `sts` is the domain's MTA-STS policy, if any.
common::tlsrpt::Policy policy_for(const std::string& domain, const Endpoint& ep,
                                  const std::optional<StsPolicy>& sts, bool sts_fetch_failed);

// The MTA-STS policy as the report's policy-string lines (RFC 8460 4.3.1).
std::vector<std::string> sts_policy_strings(const StsPolicy& p);

// Writes sessions to the day files in `dir` and logs each; a failure to write is
// logged, at most once a minute.
class TlsReporter {
 public:
  explicit TlsReporter(std::string dir) : dir_(std::move(dir)) {}
  void record(const common::tlsrpt::Session& s, const std::string& log_tag);

 private:
  std::string dir_;
  std::int64_t last_warning_ = 0;
};

}  // namespace delivery::remote
