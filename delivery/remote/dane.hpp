// DANE for outgoing SMTP (RFC 7672): what the DNSSEC status of a destination's MX,
// address and TLSA answers means for one MX host. A pure decision (every row tested in
// dane_test.cpp); route.cpp gathers the answers and connection.cpp applies the result
// with OpenSSL's DANE verifier (SSL_dane_enable, SSL_dane_tlsa_add).
//   RFC 7672 2.1: only validated (secure) answers count; bogus ones are failures.
//   2.2.1: an insecure MX RRset means no DANE for the destination.
//   2.2.2: TLSA records are looked up only for a host whose addresses are secure.
//   2.2 / 2.3: secure usable TLSA records: authenticated TLS or no delivery to that host;
//   secure records, none usable: TLS without authentication is still mandatory;
//   no records (secure denial) or an insecure TLSA answer: the usual policy;
//   a failed (or bogus) TLSA lookup: the host is not used.
//   3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable in SMTP.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dns/records.hpp"
#include "common/dns/tlsa.hpp"

namespace delivery::remote {

enum class DaneMode : std::uint8_t {
  kNone,          // DANE does not apply: the configured TLS policy does
  kAuthenticate,  // TLS checked against `records`, or no delivery to this host
  kEncrypt,       // TLS required, no authentication (only unusable TLSA records)
  kSkip,          // this host must not be used (TLSA lookup failed or bogus)
};
const char* dane_mode_name(DaneMode m);

struct DaneState {
  DaneMode mode = DaneMode::kNone;
  std::vector<common::dns::TlsaRecord> records;  // kAuthenticate: the usable ones
  std::string why;  // for the log line and a deferral's text; "" when DANE is off
};

// The combined DNSSEC status of a host's A and AAAA answers: bogus if either is, secure
// if every answer that gave addresses is secure (and at least one did), else insecure.
common::dns::Security address_security(const common::dns::AddrAnswer& v4, const common::dns::AddrAnswer& v6);

// Whether a TLSA lookup is worth making for a host (RFC 7672 2.2.1, 2.2.2): DANE is on
// for the destination, its MX answer (kSecure when there was no MX lookup) and the host's
// addresses are secure.
bool wants_tlsa(bool enabled, common::dns::Security mx, common::dns::Security addr);

// The decision for one host. `tlsa` is null when no lookup was made.
DaneState decide_dane(bool enabled, common::dns::Security mx, common::dns::Security addr,
                      const common::dns::TlsaAnswer* tlsa);

}  // namespace delivery::remote
