// Delivery status notification requests (RFC 3461): the MAIL parameters RET and ENVID
// and the RCPT parameters NOTIFY and ORCPT, parsed from the wire, kept in the queue file
// and read back by the queue manager when it decides which notices to send. Pure code;
// fuzzed by dsn_fuzz.cpp. UNTRUSTED: the values come from SMTP clients.
//
//   RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2(HEXDIG in upper case),
//     xchar = "!" to "~" except "+" and "=".
//   RFC 3461 4.1: NOTIFY = "NEVER" / 1#("SUCCESS" / "FAILURE" / "DELAY").
//   RFC 3461 4.2: ORCPT = addr-type ";" xtext, at most 500 characters.
//   RFC 3461 4.3: RET = "FULL" / "HDRS".
//   RFC 3461 4.4: ENVID = xtext, at most 100 characters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace common::mail {

// NOTIFY as bits; 0 is "not given" (the MTA's default: failures, and delays if it warns).
enum DsnNotify : std::uint8_t {
  kNotifyNever = 1,
  kNotifySuccess = 2,
  kNotifyFailure = 4,
  kNotifyDelay = 8,
};

enum class DsnRet : std::uint8_t { kUnspecified, kFull, kHdrs };

inline constexpr std::size_t kMaxOrcpt = 500;  // RFC 3461 4.2
inline constexpr std::size_t kMaxEnvid = 100;  // RFC 3461 4.4

// What one RCPT asked for: NOTIFY bits (0: not given) and ORCPT ("type;address"
// decoded, empty: not given).
struct DsnRcpt {
  std::uint8_t notify = 0;
  std::string orcpt;
  bool given() const { return notify != 0 || !orcpt.empty(); }
  bool operator==(const DsnRcpt&) const = default;
};

// xtext (RFC 3461 4) decoded, or nullopt when malformed. Decoded text with control
// characters or bytes over 0x7e is refused too: it ends up in notice headers.
std::optional<std::string> xtext_decode(std::string_view x);
// Any printable ASCII text as xtext.
std::string xtext_encode(std::string_view text);

// The NOTIFY value as bits, or nullopt (empty, unknown keyword, a repeat, NEVER with
// another keyword).
std::optional<std::uint8_t> parse_notify(std::string_view v);
// The bits as the canonical NOTIFY value ("NEVER", "SUCCESS,FAILURE", ...); "" for 0.
std::string notify_text(std::uint8_t bits);

// ORCPT: the original recipient as "addr-type;decoded address". nullopt when malformed.
// The address type is an atom (RFC 3461 4.2 says "atom"; "rfc822" and "utf-8" are the
// registered ones); it is kept as sent.
std::optional<std::string> parse_orcpt(std::string_view v);

std::optional<DsnRet> parse_ret(std::string_view v);
const char* ret_text(DsnRet r);  // "FULL", "HDRS", "" for unspecified

// ENVID decoded, or nullopt when malformed or too long.
std::optional<std::string> parse_envid(std::string_view v);

}  // namespace common::mail
