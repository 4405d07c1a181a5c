// Blocking DNS lookups for `mailctl check-dns`: any record type through libunbound, with
// the daemons' resolver choice (dns_resolver, else /etc/resolv.conf) and a time limit
// per lookup; plus the pure pieces (reverse names, PTR and TXT RDATA, address
// canonical form) that are unit-tested in dns_lookup_test.cpp.
// UNTRUSTED: RDATA comes from the network.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns/records.hpp"
#include "common/result.hpp"

struct ub_ctx;

namespace mailctl {

// RR types (RFC 1035 3.2.2, RFC 3596 2.1).
inline constexpr int kTypeA = 1;
inline constexpr int kTypePtr = 12;
inline constexpr int kTypeMx = 15;
inline constexpr int kTypeTxt = 16;
inline constexpr int kTypeAaaa = 28;
inline constexpr int kTypeTlsa = 52;  // RFC 6698 7.1

struct DnsAnswer {
  common::dns::Lookup status = common::dns::Lookup::kOk;
  std::vector<std::string> rdata;  // raw RDATA of each record
  std::string canonname;           // set when the name is an alias (CNAME): its target
  std::string error;               // kTempFail: why
  common::dns::Security security = common::dns::Security::kInsecure;  // bogus: kTempFail
};

class DnsClient {
 public:
  // `forwarder`: the dns_resolver value ("" for /etc/resolv.conf); `trust_anchor`: the
  // dns_trust_anchor value ("" for no DNSSEC validation).
  static common::Result<std::unique_ptr<DnsClient>> create(const std::string& forwarder, int timeout_seconds,
                                                           const std::string& trust_anchor = "");
  ~DnsClient();
  DnsClient(const DnsClient&) = delete;
  DnsClient& operator=(const DnsClient&) = delete;

  DnsAnswer query(const std::string& name, int type);

 private:
  DnsClient(ub_ctx* ctx, int timeout_seconds) : ctx_(ctx), timeout_seconds_(timeout_seconds) {}
  ub_ctx* ctx_;
  int timeout_seconds_;
};

// "192.0.2.1" -> "1.2.0.192.in-addr.arpa", IPv6 -> nibbles under ip6.arpa (RFC 3596
// 2.5); "" if `ip` is not an address.
std::string reverse_name(const std::string& ip);
// The address in canonical text form (inet_ntop of inet_pton), "" if not an address.
std::string canonical_ip(const std::string& ip);
bool is_ipv6(const std::string& ip);
// A PTR (or CNAME) RDATA: one uncompressed domain name; lower case, no trailing dot.
common::Result<std::string> decode_name(std::string_view rdata);
// A TXT RDATA: its <character-string>s joined without separator (RFC 7208 3.3).
common::Result<std::string> decode_txt(std::string_view rdata);

}  // namespace mailctl
