// check-dns's DKIM and DMARC part, the judging half: each key of the domain in the key
// store (common/dkim/store.hpp) against the TXT record at SELECTOR._domainkey.DOMAIN
// (RFC 6376 3.6.2.2), and the DMARC record at _dmarc.DOMAIN (RFC 7489 6.1). Says
// exactly what to publish when a record is missing or wrong. Pure; dns_auth_test.cpp.
//   RFC 6376 3.6.1: k= defaults to rsa; an empty p= means a revoked key.
//   RFC 7489 6.6.3: not exactly one "v=DMARC1" record means no DMARC policy at all.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/dns/records.hpp"

namespace mailctl {

struct DkimKeyCheck {
  std::string selector;
  bool active = true;  // signs now (else retiring: still published)
  std::string record;  // the record text to publish, "v=DKIM1; k=...; p=..."
  common::dns::Lookup status = common::dns::Lookup::kNoData;
  std::string error;               // kTempFail: why
  std::vector<std::string> found;  // TXT texts at SELECTOR._domainkey.DOMAIN
};

struct AuthCheck {
  std::vector<DkimKeyCheck> dkim;
  std::string dkim_note;  // why the key store could not be read ("" if it could)
  common::dns::Lookup dmarc_status = common::dns::Lookup::kNoData;
  std::string dmarc_error;
  std::vector<std::string> dmarc;  // TXT texts at _dmarc.DOMAIN starting with "v=DMARC1"
};

struct AuthReport {
  std::vector<std::pair<std::string, std::string>> lines;  // key, value
  std::vector<std::string> problems;
  std::vector<std::string> failures;
};

AuthReport evaluate_auth(const std::string& domain, const AuthCheck& c);

// The DMARC record suggested for a domain that has none: monitoring only, reports to
// postmaster (RFC 7489 6.3).
std::string suggested_dmarc(const std::string& domain);

}  // namespace mailctl
