// TLSA records (RFC 6698 2.1) as DANE for SMTP (RFC 7672) uses them: the fixed RDATA
// fields read from the bytes libunbound hands over, the usability rules of RFC 7672 3.1
// and the presentation form that mailctl prints and check-dns compares.
// Pure functions; UNTRUSTED: record data comes from the network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns/records.hpp"
#include "common/result.hpp"

namespace common::dns {

// RFC 6698 2.1.1-2.1.3 (names of RFC 7218).
enum : std::uint8_t { kPkixTa = 0, kPkixEe = 1, kDaneTa = 2, kDaneEe = 3 };  // certificate usage
enum : std::uint8_t { kSelCert = 0, kSelSpki = 1 };                          // selector
enum : std::uint8_t { kMatchFull = 0, kMatchSha256 = 1, kMatchSha512 = 2 };  // matching type

struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t mtype = 0;
  std::string data;  // the certificate association data, raw bytes
  bool operator==(const TlsaRecord&) const = default;
};

// Longest association data accepted (a full certificate, matching type 0).
inline constexpr std::size_t kMaxTlsaData = 16384;

// One TLSA RDATA (RFC 6698 2.1: usage, selector, matching type, then the data to the
// end). Fails on fewer than 4 bytes, an empty association, a digest of the wrong length
// for matching types 1 and 2 (32 and 64 bytes), or more than kMaxTlsaData bytes.
Result<TlsaRecord> decode_tlsa(const std::uint8_t* rdata, std::size_t len);

// RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP; so are selectors and
// matching types beyond those RFC 6698 defines (RFC 7671 4: ignore unknown parameters).
bool usable_for_smtp(const TlsaRecord& r);

// "DANE-EE", "DANE-TA", "PKIX-EE", "PKIX-TA" or the number (RFC 7218 mnemonics).
std::string usage_name(std::uint8_t usage);

// The owner name of a service's TLSA records (RFC 6698 3): "_25._tcp.host".
std::string tlsa_owner(std::string_view host, std::uint16_t port);

// Presentation form of the RDATA, "3 1 1 <hex>" (lower-case hex).
std::string tlsa_text(const TlsaRecord& r);

// Lower-case hex of bytes.
std::string to_hex(std::string_view bytes);

// The answer to a TLSA lookup. Records that do not decode are counted, not kept: RFC
// 7672 3.1 treats them like unusable records.
struct TlsaAnswer {
  Lookup status = Lookup::kNoData;
  Security security = Security::kInsecure;
  std::vector<TlsaRecord> records;
  std::size_t malformed = 0;
  std::string error;  // kTempFail: what went wrong; else the first malformed record's fault
};

// Decodes every RDATA of a successful lookup into `a` (status kOk even when all are
// malformed: the RRset exists).
void add_tlsa_rdatas(TlsaAnswer* a, const std::vector<std::string_view>& rdatas);

}  // namespace common::dns
