// DNS answers as mail routing needs them: MX lists (sorted by preference, equal
// preferences shuffled), null MX detection, address lists, and what a lookup failure
// means for a message. Pure functions over libunbound's result data, so they are tested
// without a name server. Wire-format names are decoded by ldns (ldns_wire2dname), never
// by hand. UNTRUSTED: record data comes from the network.
//   RFC 5321 5.1: MX lookup, preference order, random order among equal preferences,
//   no MX records means the domain itself (implicit MX).
//   RFC 7505: a null MX (one MX record, exchange ".") means the domain accepts no mail.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::dns {

enum class Lookup : std::uint8_t {
  kOk,        // records found
  kNoData,    // the name exists, but has no records of this type
  kNxDomain,  // the name does not exist (RCODE 3)
  kTempFail,  // SERVFAIL, timeout, network trouble: try again later
};
const char* lookup_name(Lookup s);

// What DNSSEC validation (libunbound with a trust anchor) said about an answer
// (RFC 4035 4.3). Without a trust anchor everything is kInsecure. A bogus answer is
// never used as data: its lookup counts as a temporary failure (kTempFail).
enum class Security : std::uint8_t { kInsecure, kSecure, kBogus };
const char* security_name(Security s);
Security security_of(bool secure, bool bogus);

struct MxHost {
  std::uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot
};

struct MxAnswer {
  Lookup status = Lookup::kOk;
  bool null_mx = false;       // RFC 7505
  std::vector<MxHost> hosts;  // sorted; usable host names only
  std::string error;          // what went wrong (kTempFail), for logs
  Security security = Security::kInsecure;
};

struct AddrAnswer {
  Lookup status = Lookup::kOk;
  std::vector<std::string> addrs;  // textual IPv4 or IPv6 addresses
  std::string error;
  Security security = Security::kInsecure;
};

// TXT records (RFC 1035 3.3.14), each one's <character-string>s joined (RFC 7208 3.3);
// undecodable records are dropped. For the `_mta-sts` and `_smtp._tls` records.
struct TxtAnswer {
  Lookup status = Lookup::kOk;
  std::vector<std::string> texts;
  std::string error;
  Security security = Security::kInsecure;
};
std::vector<std::string> decode_txts(const std::vector<std::string_view>& rdatas);

// Decodes one MX RDATA (RFC 1035 3.3.9: PREFERENCE, EXCHANGE as an uncompressed
// wire-format name, which is how libunbound hands RDATA over). Fails on malformed data.
// The exchange "." comes back as the empty string.
Result<MxHost> decode_mx(const std::uint8_t* rdata, std::size_t len);

// A host name we are willing to connect to: LDH labels (RFC 1123 2.1), 1-63 octets
// each, at most 253 in all. `name` without a trailing dot.
bool is_host_name(std::string_view name);

// Builds the MX answer from the RDATA list of a successful lookup: drops undecodable
// records and unusable names, recognises the null MX, sorts by preference and shuffles
// equal preferences with `rng`.
MxAnswer make_mx_answer(const std::vector<std::string_view>& rdatas, std::mt19937& rng);

// Orders MX hosts by preference, shuffling hosts of equal preference (RFC 5321 5.1).
void sort_mx(std::vector<MxHost>* hosts, std::mt19937& rng);

// Address RDATA: exactly 4 bytes (A) or 16 bytes (AAAA), else skipped.
std::vector<std::string> decode_addresses(const std::vector<std::string_view>& rdatas, bool v6);

// Maps a finished lookup's RCODE and data flags to a Status.
Lookup classify(int rcode, bool havedata, bool nxdomain);

// "ip" or "ip:port" or "[ipv6]:port" (the dns_resolver key) -> libunbound's "ip@port".
Result<std::string> forwarder_spec(std::string_view v);

}  // namespace common::dns
