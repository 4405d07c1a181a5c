// DNS blocklists and allowlists (RFC 5782): the zone list syntax of the dnsbl_zones and
// dnswl_zones keys, the query name for a client address, which answers count, and the
// score that decides. Pure; the checks process does the lookups (smtpd/checks/) and
// keys.cpp validates the configured lists with the same parser.
//   spec   = zone [ "=" filter ] [ "*" weight ]
//   filter = item *( ";" item ),  item = a.b.c.d | a.b.c.d..e   (last octet range)
// e.g. "zen.example=127.0.0.2..11;127.0.0.20*2". Without a filter any A record in
// 127.0.0.0/8 counts (RFC 5782 2.1 reserves that network for list answers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::checks {

struct CodeRange {
  std::uint32_t first = 0;  // host order
  std::uint32_t last = 0;
};

struct DnsList {
  std::string zone;              // lower case, no trailing dot
  std::vector<CodeRange> codes;  // empty: any 127.0.0.0/8 address
  int weight = 1;
  bool allow = false;  // from dnswl_zones: a match subtracts its weight
};

Result<DnsList> parse_list_spec(std::string_view spec, bool allow);
Result<std::vector<DnsList>> parse_lists(const std::vector<std::string>& specs, bool allow);

// The name to look up (RFC 5782 2.1 for IPv4, 2.4 nibbles for IPv6); "" if `ip` is no
// address.
std::string query_name(std::string_view ip, std::string_view zone);

// Does the answer address (dotted quad) count for this list?
bool code_matches(const DnsList& list, std::string_view answer);

// What the lookups of one list gave.
struct ListAnswer {
  const DnsList* list = nullptr;
  bool temperror = false;              // SERVFAIL, timeout
  std::vector<std::string> addresses;  // A records (NXDOMAIN: none)
};

struct DnsblVerdict {
  enum class Kind { kPass, kListed, kAllowed, kTempError };
  Kind kind = Kind::kPass;
  int score = 0;
  std::string zone;    // kListed: the blocklist with the largest weight that matched;
                       // kAllowed: the allowlist that matched
  std::string code;    // its first matching answer
  std::string detail;  // every match, "zone=code" joined by ", ", for the log
};

// Sum of matching blocklist weights minus matching allowlist weights; listed at
// `threshold` or more. A blocklist that could not be asked makes the verdict kTempError
// only when the answers so far do not decide it.
DnsblVerdict score(const std::vector<ListAnswer>& answers, int threshold);

}  // namespace common::checks
