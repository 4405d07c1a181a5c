// Implementation of the DANE decision (see dane.hpp).
#include "delivery/remote/dane.hpp"

namespace delivery::remote {

using common::dns::Lookup;
using common::dns::Security;

const char* dane_mode_name(DaneMode m) {
  switch (m) {
    case DaneMode::kNone: return "none";
    case DaneMode::kAuthenticate: return "authenticate";
    case DaneMode::kEncrypt: return "encrypt";
    case DaneMode::kSkip: return "skip";
  }
  return "?";
}

Security address_security(const common::dns::AddrAnswer& v4, const common::dns::AddrAnswer& v6) {
  if (v4.security == Security::kBogus || v6.security == Security::kBogus) return Security::kBogus;
  bool any = false;
  for (const auto* a : {&v4, &v6}) {
    if (a->status != Lookup::kOk) continue;
    if (a->security != Security::kSecure) return Security::kInsecure;
    any = true;
  }
  return any ? Security::kSecure : Security::kInsecure;
}

bool wants_tlsa(bool enabled, Security mx, Security addr) {
  return enabled && mx == Security::kSecure && addr == Security::kSecure;
}

DaneState decide_dane(bool enabled, Security mx, Security addr, const common::dns::TlsaAnswer* tlsa) {
  DaneState d;
  if (!enabled) return d;
  // Bogus MX and address answers never get here as data (the resolver makes them
  // temporary failures); should one, the host is not to be trusted with anything.
  if (mx == Security::kBogus || addr == Security::kBogus) {
    d.mode = DaneMode::kSkip;
    d.why = "DNSSEC validation failed for the MX or address records, host skipped";
    return d;
  }
  if (mx != Security::kSecure) {
    d.why = "MX records not DNSSEC-signed, no DANE";  // 2.2.1
    return d;
  }
  if (addr != Security::kSecure) {
    d.why = "address records not DNSSEC-signed, no DANE";  // 2.2.2
    return d;
  }
  if (!tlsa) {
    d.why = "no TLSA lookup, no DANE";
    return d;
  }
  switch (tlsa->status) {
    case Lookup::kTempFail:
      // 2.2: a host whose TLSA records cannot be known is not used; never in clear.
      d.mode = DaneMode::kSkip;
      d.why = (tlsa->security == Security::kBogus ? "TLSA bogus, host skipped: "
                                                  : "TLSA lookup failed, host skipped: ") +
              tlsa->error;
      return d;
    case Lookup::kNoData:
    case Lookup::kNxDomain:
      d.why = tlsa->security == Security::kSecure ? "no TLSA records (DNSSEC-proven), no DANE"
                                                  : "no TLSA records (unsigned answer), no DANE";
      return d;
    case Lookup::kOk: break;
  }
  if (tlsa->security != Security::kSecure) {
    d.why = "TLSA records not DNSSEC-signed, no DANE";
    return d;
  }
  for (const auto& r : tlsa->records)
    if (common::dns::usable_for_smtp(r)) d.records.push_back(r);
  if (d.records.empty()) {
    // 2.2 / 3.1.3: a secure TLSA RRset that is all unusable (or malformed) still says
    // the server does TLS: encrypt, without authentication.
    d.mode = DaneMode::kEncrypt;
    d.why = "TLSA records present but none usable (" + std::to_string(tlsa->records.size()) + " unusable, " +
            std::to_string(tlsa->malformed) + " malformed), TLS required without authentication";
    return d;
  }
  d.mode = DaneMode::kAuthenticate;
  d.why = std::to_string(d.records.size()) + " usable TLSA record" + (d.records.size() == 1 ? "" : "s") +
          ", TLS must match them";
  return d;
}

}  // namespace delivery::remote
