// TLS reporting (RFC 8460) as data: one TLS session's outcome as the remote agent
// records it (a line of the day's file in spool/tlsrpt, store.hpp), and the day's
// counts per policy domain and policy that the aggregate report is made of (report.hpp).
// Pure; tested in record_test.cpp, the line parser fuzzed by tlsrpt_line_fuzz.cpp.
// UNTRUSTED: the policy strings and MX names came from DNS and HTTPS; a day file is
// written by the remote agent but read back as if it were not (a torn last line after a
// crash is skipped, never misread).
//   RFC 8460 4.3: policy-type sts | tlsa | no-policy-found; the policy strings (the
//   MTA-STS policy's lines, or the TLSA records) and mx-host patterns identify a policy.
//   RFC 8460 4.3.2: the failure result types (result-type), named as there.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/result.hpp"

namespace common::tlsrpt {

enum class PolicyType : std::uint8_t { kSts, kTlsa, kNoPolicy };
// "sts", "tlsa", "no-policy-found" (RFC 8460 4.3).
const char* policy_type_name(PolicyType t);

// RFC 8460 4.3.2.1 negotiation failures and 4.3.2.2, 4.3.2.3 policy failures.
inline constexpr const char* kStartTlsNotSupported = "starttls-not-supported";
inline constexpr const char* kCertificateHostMismatch = "certificate-host-mismatch";
inline constexpr const char* kCertificateExpired = "certificate-expired";
inline constexpr const char* kCertificateNotTrusted = "certificate-not-trusted";
inline constexpr const char* kValidationFailure = "validation-failure";
inline constexpr const char* kTlsaInvalid = "tlsa-invalid";
inline constexpr const char* kDnssecInvalid = "dnssec-invalid";
inline constexpr const char* kDaneRequired = "dane-required";
inline constexpr const char* kStsPolicyFetchError = "sts-policy-fetch-error";
inline constexpr const char* kStsPolicyInvalid = "sts-policy-invalid";
inline constexpr const char* kStsWebpkiInvalid = "sts-webpki-invalid";
bool is_result_type(std::string_view s);

// The policy a session was judged under.
struct Policy {
  PolicyType type = PolicyType::kNoPolicy;
  std::string domain;                // the policy domain: the recipient domain, lower case, A-labels
  std::vector<std::string> strings;  // sts: the policy's lines; tlsa: the records as text
  std::vector<std::string> mx;       // sts: the policy's mx patterns; tlsa: the MX host
  bool operator<(const Policy& o) const {
    return std::tie(type, domain, strings, mx) < std::tie(o.type, o.domain, o.strings, o.mx);
  }
  bool operator==(const Policy& o) const = default;
};

struct Session {
  std::int64_t time = 0;  // seconds since the epoch
  Policy policy;
  std::string result;  // "" for a successful session, else a result type
  std::string mx;      // receiving-mx-hostname ("" if unknown)
  std::string ip;      // receiving-ip ("" if unknown)
};

// Hard limits on what a line may hold (a policy is at most 64 KB, RFC 8461 3.3).
inline constexpr std::size_t kMaxLine = 80 * 1024;
inline constexpr std::size_t kMaxItems = 64;

// One line, "\n" included: "S1 <time> <type> <domain> <result> <mx> <ip> <strings>
// <mx patterns>", each field percent-encoded (no space, '|', '%' or control character
// left; "-" for empty), list items separated by '|'. Items that are empty are dropped.
std::string format_session(const Session& s);
// One line without its "\n".
Result<Session> parse_session(std::string_view line);

// The counts of one policy for a day (RFC 8460 4.4 summary and failure-details).
struct FailureKey {
  std::string result;
  std::string mx;
  std::string ip;
  bool operator<(const FailureKey& o) const {
    return std::tie(result, mx, ip) < std::tie(o.result, o.mx, o.ip);
  }
};
struct PolicyCounts {
  std::int64_t successes = 0;
  std::int64_t failures = 0;
  std::map<FailureKey, std::int64_t> details;
};
// Policy domain -> policy -> counts.
using DayCounts = std::map<std::string, std::map<Policy, PolicyCounts>>;

// Adds every complete, well-formed line of `file` to `counts`; returns how many lines
// were skipped as malformed (a line without its "\n" at the end is a torn write).
std::size_t add_day_file(std::string_view file, DayCounts* counts);

// "YYYY-MM-DD" (UTC) of `t`, and back (the start of that day, -1 if malformed).
std::string day_of(std::int64_t t);
std::int64_t day_start(std::string_view day);

}  // namespace common::tlsrpt
