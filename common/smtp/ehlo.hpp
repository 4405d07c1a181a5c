// The server's EHLO answer as the client needs it: which service extensions it offers.
// Pure; used by the client session (client.hpp). UNTRUSTED: the reply comes from the
// remote server; unknown keywords are ignored, malformed parameters disable the extension.
//   RFC 5321 4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ); keywords are
//   case-insensitive. RFC 1870 (SIZE [n]), RFC 2920 (PIPELINING), RFC 3207 (STARTTLS),
//   RFC 4954 (AUTH mechanisms), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 1985 (ETRN),
//   RFC 2034 (ENHANCEDSTATUSCODES), RFC 8689 (REQUIRETLS), RFC 3461 (DSN), RFC 3030 (CHUNKING).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/smtp/reply.hpp"

namespace common::smtp {

struct Capabilities {
  bool esmtp = false;  // the server answered EHLO (not only HELO)
  bool pipelining = false;
  bool size = false;
  std::uint64_t size_limit = 0;  // 0: no fixed limit announced (RFC 1870 4)
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool starttls = false;
  bool etrn = false;
  bool enhancedstatuscodes = false;
  bool requiretls = false;        // RFC 8689 2
  bool dsn = false;               // RFC 3461 3
  bool chunking = false;          // RFC 3030 2
  std::vector<std::string> auth;  // SASL mechanisms, upper case
  bool has_auth(std::string_view mech) const;
};

// Parses a 250 EHLO reply (the first line is the greeting domain, the others are
// extension lines).
Capabilities parse_ehlo(const Reply& reply);

}  // namespace common::smtp
