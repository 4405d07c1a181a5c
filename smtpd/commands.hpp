// Pure parsing of SMTP command lines into structs (no I/O, no session state). The
// session (session.cpp) splits the input into lines, then calls these; the fuzz target
// commands_fuzz.cpp drives them with arbitrary bytes.
// UNTRUSTED: every byte comes from the network. Addresses are parsed only by
// common::mail::parse_path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/address.hpp"
#include "common/mail/dsn.hpp"
#include "smtpd/reply.hpp"

namespace smtpd {

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF; extensions
// (4.5.3.1 and RFC 1869 4.1.2) may lengthen MAIL and RCPT, so we allow 2048.
inline constexpr std::size_t kMaxCommandLine = 2048;
// RFC 5321 4.1.1.1: HELO/EHLO carry a domain (at most 255 octets, 4.5.3.1.2) or literal.
inline constexpr std::size_t kMaxHeloName = 255;

enum class Verb {
  kUnknown,
  kHelo,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kRset,
  kNoop,
  kQuit,
  kHelp,
  kVrfy,
  kExpn,
  kStartTls,
  kAuth,  // RFC 4954
  kEtrn,  // RFC 1985
  kBdat,  // RFC 3030
  kAtrn,  // RFC 2645 (the ODMR port only)
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view name;  // the verb as sent (for messages)
  std::string_view arg;   // after the verb and its spaces; trailing spaces removed
};

// Splits one command line (without its CRLF) into verb and argument. Verbs are
// case-insensitive (RFC 5321 2.4).
Command split_command(std::string_view line);

enum class Body { kUnspecified, k7Bit, k8BitMime };

struct MailArgs {
  // The sender for lookups (accounts, DNS): a UTF-8 domain in its A-label form.
  common::mail::Address sender;  // null() for "<>"
  // The sender as the client spelt it, U-labels kept: what the queue, Return-Path and
  // the logs carry (RFC 6531 3.7.1 and 3.7.3: a UTF-8 envelope is not rewritten).
  // Empty when it is sender.str() (ASCII, or parsed elsewhere).
  std::string sender_as_sent;
  std::string envelope_sender() const { return sender_as_sent.empty() ? sender.str() : sender_as_sent; }
  std::optional<std::uint64_t> size;  // RFC 1870 SIZE=, saturated at UINT64_MAX
  Body body = Body::kUnspecified;     // RFC 6152 BODY=
  bool smtputf8 = false;              // RFC 6531 SMTPUTF8
  // RFC 3461 4.3, 4.4: what a delivery status notification returns, and the sender's
  // id for the transaction (decoded).
  common::mail::DsnRet ret = common::mail::DsnRet::kUnspecified;
  std::string envid;
  bool requiretls = false;  // RFC 8689 REQUIRETLS
};

struct RcptArgs {
  common::mail::Address rcpt;  // "<Postmaster>" gives local "postmaster", empty domain
  common::mail::DsnRcpt dsn;   // RFC 3461 4.1, 4.2: NOTIFY and ORCPT
};

// Either a value or the error reply to send.
template <class T>
struct Parsed {
  std::optional<T> value;
  Reply error;
  bool ok() const { return value.has_value(); }
};

// MAIL: arg is "FROM:<path> [params]" (RFC 5321 4.1.1.2). `extended` is true after EHLO;
// after HELO no service extensions are in effect, so any parameter is refused.
Parsed<MailArgs> parse_mail(std::string_view arg, bool extended);
// RCPT: arg is "TO:<path>" (RFC 5321 4.1.1.3). `smtputf8` is the transaction's flag.
// The only RCPT parameters are NOTIFY and ORCPT (RFC 3461 4.1, 4.2).
Parsed<RcptArgs> parse_rcpt(std::string_view arg, bool smtputf8);
// AUTH: "mechanism [initial-response]" (RFC 4954 4). The mechanism is upper-cased; the
// initial response is left to the SASL code ("=" means an empty one).
struct AuthArgs {
  std::string mechanism;
  std::optional<std::string> initial;
};
Parsed<AuthArgs> parse_auth(std::string_view arg);

// ETRN: "domain", "@domain" (the domain and its subdomains) or "#queue" (RFC 1985 5).
// The domain is lower-cased; a queue name is kept as sent (we do not support them).
struct EtrnArgs {
  std::string node;  // the domain, or the queue name after '#'
  bool subdomains = false;
  bool queue_name = false;
};
Parsed<EtrnArgs> parse_etrn(std::string_view arg);

// ATRN: "[domain *("," domain)]" (RFC 2645 5.2.1 and its grammar in section 6): the
// domains whose mail the client wants, lower-cased, duplicates dropped, at most
// kMaxAtrnDomains; none means every domain the login was granted.
inline constexpr std::size_t kMaxAtrnDomains = 32;
struct AtrnArgs {
  std::vector<std::string> domains;
};
Parsed<AtrnArgs> parse_atrn(std::string_view arg);

// BDAT: "chunk-size [LAST]" (RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [SP end-marker],
// chunk-size = 1*DIGIT, end-marker = "LAST", case-insensitive like every keyword). A
// size that does not fit 64 bits is a syntax error. Whoever gets an error here has lost
// the framing: the size of the chunk that follows is unknown.
struct BdatArgs {
  std::uint64_t size = 0;
  bool last = false;
};
Parsed<BdatArgs> parse_bdat(std::string_view arg);

// HELO/EHLO: the client's name (RFC 5321 4.1.1.1). Lenient like most servers: any word
// of printable characters is taken (real clients send bare host names); words after
// the first are ignored.
Parsed<std::string> parse_helo(std::string_view arg);

}  // namespace smtpd
