// RFC 5321 mail paths and mailboxes, parsed strictly. Used on the network (smtpd MAIL and
// RCPT, the remote client), in the queue file and by the admin tools, so one parser
// decides what an address is everywhere.
//   RFC 5321 4.1.2: Path = "<" [ A-d-l ":" ] Mailbox ">"; source routes are accepted and
//   stripped (RFC 5321 C: "MUST ignore"); Local-part = Dot-string / Quoted-string;
//   Domain = sub-domain *("." sub-domain) / address-literal (4.1.3).
//   RFC 5321 4.5.3.1: local part <= 64 octets, domain <= 255, path <= 256 incl. brackets.
//   RFC 6531 3.3: with SMTPUTF8, atext and sub-domains may carry UTF-8 (checked well-formed).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::mail {

inline constexpr std::size_t kMaxLocalPart = 64;
inline constexpr std::size_t kMaxDomain = 255;
inline constexpr std::size_t kMaxPath = 256;

struct Address {
  std::string local;     // unquoted form: quotes and quoted-pair backslashes removed
  std::string domain;    // ASCII letters lower-cased; an address literal keeps its brackets
  bool literal = false;  // domain is an address literal, e.g. "[192.0.2.1]"
  bool utf8 = false;     // local part or domain holds non-ASCII (needs SMTPUTF8)

  bool null() const { return local.empty() && domain.empty(); }
  // Canonical text: local part re-quoted only if it is not a valid Dot-string.
  std::string str() const;
  // Lower-cased "local@domain" used as the lookup key for accounts and aliases.
  std::string key() const;
};

struct PathOptions {
  bool allow_null = false;        // MAIL FROM:<>
  bool allow_postmaster = false;  // RCPT TO:<Postmaster> (RFC 5321 4.5.1), no domain
  bool allow_utf8 = false;        // the transaction declared SMTPUTF8
};

// Parses a path that starts at text[0] == '<'. On success *consumed is the number of
// bytes up to and including the closing '>'. A bare "<Postmaster>" yields local
// "postmaster" and an empty domain.
Result<Address> parse_path(std::string_view text, const PathOptions& opt, std::size_t* consumed);

// Parses a bare mailbox "local@domain" (the whole string), for tools and config. At most
// 254 octets, so that "<" mailbox ">" fits the 256-octet path limit.
Result<Address> parse_mailbox(std::string_view text, bool allow_utf8 = true);

// Syntax checks used by the parser and by the admin tools.
bool is_dot_string(std::string_view local, bool allow_utf8);
bool is_domain(std::string_view domain, bool allow_utf8);
bool is_valid_utf8(std::string_view s);
bool is_address_literal(std::string_view lit);  // with brackets
// Any octet outside ASCII (what makes an address need SMTPUTF8).
bool has_non_ascii(std::string_view s);

}  // namespace common::mail
