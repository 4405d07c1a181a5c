// SPF (RFC 7208) for the checks process, with libspf2. Two things differ from the way
// libspf2's front door (SPF_request_query_mailfrom) works: its lookups go through our
// Dns (a libspf2 DNS layer over libunbound, so the dns_resolver setting and the test
// zones apply), and the record is really evaluated for every client, because the front
// door answers "pass" to any 127.0.0.0/8 or ::1 client without reading the record.
#pragma once

#include <string>

#include "smtpd/checks/dns.hpp"

namespace checks {

struct SpfResult {
  std::string result;   // RFC 7208 2.6: none, neutral, pass, fail, softfail, temperror, permerror
  std::string domain;   // the identity's domain
  std::string comment;  // libspf2's explanation, for the header comment and the log
};

// MAIL FROM identity (RFC 7208 2.4): `sender` "" for the null sender, which checks
// postmaster@helo instead.
SpfResult spf_mailfrom(Dns& dns, const std::string& ip, const std::string& helo, const std::string& sender);
// HELO identity (RFC 7208 2.3); "none" for an address literal.
SpfResult spf_helo(Dns& dns, const std::string& ip, const std::string& helo);

}  // namespace checks
