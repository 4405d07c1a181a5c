// Internationalised domain names (RFC 5890/5891, IDNA2008 with UTS #46 non-transitional
// mapping, through libidn2): the ASCII form (A-labels, "xn--...") of a UTF-8 domain, for
// DNS lookups and for servers that do not offer SMTPUTF8 (RFC 6531 3.2 lets a client
// send the domain of an address with an ASCII local part in its A-label form).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::mail {

// An ASCII domain comes back unchanged; a UTF-8 one as A-labels in lower case. Not a
// valid IDN (bad UTF-8, disallowed code points, a label too long): an error naming it.
Result<std::string> domain_to_ascii(std::string_view domain);

// "local@domain" with the domain in A-labels, when the local part is ASCII and the
// domain converts; nullopt otherwise (a UTF-8 local part has no ASCII form). The null
// path "" and ASCII addresses come back unchanged.
std::optional<std::string> address_to_ascii(std::string_view address);

}  // namespace common::mail
