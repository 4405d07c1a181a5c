// IDNA conversion (see idna.hpp) over libidn2.
#include "common/mail/idna.hpp"

#include <idn2.h>

#include <memory>

#include "common/mail/address.hpp"

namespace common::mail {

Result<std::string> domain_to_ascii(std::string_view domain) {
  if (!has_non_ascii(domain)) return std::string(domain);
  std::string in(domain);
  if (in.find('\0') != std::string::npos)
    return Status::error("domain name contains a NUL byte: not an internationalised domain name");
  char* out = nullptr;
  // Non-transitional UTS #46 processing (case folding, NFC, then IDNA2008 rules), as
  // browsers and current MTAs do: "ß" stays "ß" (xn--...), it is not mapped to "ss".
  int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    return Status::error("'" + in +
                         "' is not a valid internationalised domain name (IDNA2008): " + idn2_strerror(rc));
  }
  std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
  return std::string(out);
}

std::optional<std::string> address_to_ascii(std::string_view address) {
  if (!has_non_ascii(address)) return std::string(address);
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view local = address.substr(0, at);
  if (has_non_ascii(local)) return std::nullopt;
  auto domain = domain_to_ascii(address.substr(at + 1));
  if (!domain.is_ok()) return std::nullopt;
  return std::string(local) + "@" + *domain;
}

}  // namespace common::mail
