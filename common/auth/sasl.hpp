// The pure parts of SASL that smtpd's AUTH (RFC 4954) and pop3d's AUTH (RFC 5034) share:
// base64 through OpenSSL (never our own decoder), the PLAIN message (RFC 4616 2) and the
// checks on what it carries. Each session drives its own exchange; the password check
// runs in the authentication daemon (common/authd) behind client.hpp.
// UNTRUSTED: every input here comes from the network. Fuzzed by sasl_fuzz.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/mail/base64.hpp"
#include "common/result.hpp"

namespace common::auth::sasl {

// RFC 4648 4 base64 as SASL carries it (RFC 4954 4, RFC 5034 4): strictly, see
// common/mail/base64.hpp.
using common::mail::decode_base64;
using common::mail::encode_base64;

// RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. authcid and passwd
// must not be empty and none of the three may hold NUL; each at most 255 octets
// (RFC 4616 2: "at least 255" must be supported, we take no more).
struct Credentials {
  std::string authzid;
  std::string authcid;
  std::string password;
  Credentials() = default;
  Credentials(const Credentials&) = default;
  Credentials& operator=(const Credentials&) = default;
  ~Credentials();  // wipes the password
};
common::Result<Credentials> parse_plain(std::string_view decoded);

inline constexpr std::size_t kMaxField = 255;

// A login name as we accept it: 1 to 255 octets of printable ASCII or UTF-8 (no
// controls, no spaces), so that it can be logged and looked up safely.
bool valid_login_name(std::string_view name);

// RFC 4954 4: an authorization identity other than the authentication identity is not
// supported: authzid must be empty or name the same user (compared case-insensitively).
bool authzid_allowed(std::string_view authzid, std::string_view authcid);

// Overwrites a string's bytes (OPENSSL_cleanse) and empties it.
void wipe(std::string* s);

}  // namespace common::auth::sasl
