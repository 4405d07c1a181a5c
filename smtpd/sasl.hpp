// The pure parts of SMTP AUTH (RFC 4954): base64 through OpenSSL (never our own
// decoder), the PLAIN message (RFC 4616 2) and the checks on what it carries. The session
// (session_auth.cpp) drives the exchange; the password check itself runs in auth.cpp.
// UNTRUSTED: every input here comes from the network. Fuzzed by sasl_fuzz.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace smtpd::sasl {

// RFC 4648 4 base64, strictly: length a multiple of 4, only the alphabet, "=" padding
// only at the end (at most two). No white space. nullopt when the text is not that.
std::optional<std::string> decode_base64(std::string_view in);
std::string encode_base64(std::string_view in);

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

}  // namespace smtpd::sasl
