// Implementation of the TLSA record helpers (see tlsa.hpp). UNTRUSTED: RDATA comes from
// the network; only the fixed RFC 6698 2.1 layout is read, with every length checked.
#include "common/dns/tlsa.hpp"

namespace common::dns {

Result<TlsaRecord> decode_tlsa(const std::uint8_t* rdata, std::size_t len) {
  // RFC 6698 2.1: 1 octet usage, 1 octet selector, 1 octet matching type, then the
  // certificate association data (no length field: the rest of the RDATA).
  if (!rdata || len < 4) return Status::error("TLSA record too short");
  if (len - 3 > kMaxTlsaData) return Status::error("TLSA association data too long");
  TlsaRecord r;
  r.usage = rdata[0];
  r.selector = rdata[1];
  r.mtype = rdata[2];
  r.data.assign(reinterpret_cast<const char*>(rdata + 3), len - 3);
  // RFC 6698 2.1.3: the digests have a fixed length; a record whose data cannot be a
  // digest of that type can never match, and is malformed.
  if (r.mtype == kMatchSha256 && r.data.size() != 32)
    return Status::error("TLSA SHA2-256 data is " + std::to_string(r.data.size()) + " bytes, not 32");
  if (r.mtype == kMatchSha512 && r.data.size() != 64)
    return Status::error("TLSA SHA2-512 data is " + std::to_string(r.data.size()) + " bytes, not 64");
  return r;
}

bool usable_for_smtp(const TlsaRecord& r) {
  if (r.usage != kDaneTa && r.usage != kDaneEe) return false;  // RFC 7672 3.1.3
  if (r.selector != kSelCert && r.selector != kSelSpki) return false;
  return r.mtype == kMatchFull || r.mtype == kMatchSha256 || r.mtype == kMatchSha512;
}

std::string usage_name(std::uint8_t usage) {
  switch (usage) {
    case kPkixTa: return "PKIX-TA";
    case kPkixEe: return "PKIX-EE";
    case kDaneTa: return "DANE-TA";
    case kDaneEe: return "DANE-EE";
  }
  return "usage " + std::to_string(usage);
}

std::string tlsa_owner(std::string_view host, std::uint16_t port) {
  return "_" + std::to_string(port) + "._tcp." + std::string(host);
}

std::string to_hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string tlsa_text(const TlsaRecord& r) {
  return std::to_string(r.usage) + " " + std::to_string(r.selector) + " " + std::to_string(r.mtype) + " " +
         to_hex(r.data);
}

void add_tlsa_rdatas(TlsaAnswer* a, const std::vector<std::string_view>& rdatas) {
  for (auto rd : rdatas) {
    auto r = decode_tlsa(reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size());
    if (r) {
      a->records.push_back(std::move(*r));
    } else {
      if (a->malformed++ == 0) a->error = r.message();
    }
  }
}

}  // namespace common::dns
