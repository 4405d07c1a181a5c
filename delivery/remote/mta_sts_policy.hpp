// MTA-STS (RFC 8461) as data: the `_mta-sts` TXT record, the policy file, the MX host
// patterns, and the on-disk cache entry. Pure parsers (tested in mta_sts_policy_test.cpp,
// fuzzed by mta_sts_fuzz.cpp); mta_sts.cpp fetches and caches, route_sts.cpp enforces.
// UNTRUSTED: the TXT record and the policy come from DNS and HTTPS; the cache file is
// written by the remote agent itself but read back as if it were not.
//   RFC 8461 3.1: TXT "v=STSv1; id=<1-32 alphanumerics>"; more than one such record, or
//   none: no policy.
//   RFC 8461 3.2: the policy: "key: value" lines (CRLF or LF), version STSv1, mode
//   enforce | testing | none, max_age (at most 31557600 s), one or more mx patterns;
//   unknown keys are ignored.
//   RFC 8461 4.1: an mx pattern matches a host name exactly, or "*.example.com" matches
//   one more label on the left (never more, never example.com itself).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace delivery::remote {

enum class StsMode : std::uint8_t { kNone, kTesting, kEnforce };
const char* sts_mode_name(StsMode m);

inline constexpr std::int64_t kStsMaxAge = 31557600;     // RFC 8461 3.2: about one year
inline constexpr std::size_t kStsMaxPolicy = 64 * 1024;  // RFC 8461 3.3: 64 KB is plenty
inline constexpr std::size_t kStsMaxMx = 64;             // patterns kept at most

struct StsPolicy {
  StsMode mode = StsMode::kNone;
  std::int64_t max_age = 0;     // seconds, capped at kStsMaxAge
  std::vector<std::string> mx;  // lower case, no trailing dot
};

// The id of a single "v=STSv1" record among `records` (each a TXT record's strings
// joined). Records not starting with "v=STSv1" are ignored; none, several, or a bad
// one is an error (RFC 8461 3.1: then there is no policy to fetch).
common::Result<std::string> parse_sts_txt(const std::vector<std::string>& records);

// The policy file body (RFC 8461 3.2).
common::Result<StsPolicy> parse_sts_policy(std::string_view text);

// RFC 8461 4.1. `host` is an MX host name (any case, trailing dot allowed).
bool sts_mx_matches(std::string_view pattern, std::string_view host);
bool sts_policy_allows(const StsPolicy& p, std::string_view host);
// "mx1.example.com, *.example.net" for log lines.
std::string sts_mx_list(const StsPolicy& p);

// A cached policy: the TXT id it was fetched under, when, and the policy text as served
// (parsed again on load, so a cache entry can never hold what the parser would refuse).
struct StsCacheEntry {
  std::string id;
  std::int64_t fetched = 0;  // seconds since the epoch
  std::string text;
  StsPolicy policy;
  std::int64_t expires() const { return fetched + policy.max_age; }
};
std::string format_sts_cache(const StsCacheEntry& e);
common::Result<StsCacheEntry> parse_sts_cache(std::string_view file);

}  // namespace delivery::remote
