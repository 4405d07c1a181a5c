// Sender Rewriting Scheme (SRS, Shevek's scheme as in libsrs2/postsrsd), so that mail the
// local agent forwards to another domain still passes SPF there: the forwarded copy's
// envelope sender becomes an address of ours that encodes the original one, and a bounce
// to it comes back to us and is sent on to the original sender.
//   SRS0=HHHHHH=TT=orig.domain=orig-local@our.domain
//   SRS1=HHHHHH=first.hop.domain==HHHHHH=TT=orig.domain=orig-local@our.domain
// TT is the day number mod 1024 in two base32 characters; HHHHHH is 30 bits of an
// HMAC-SHA1 over the other fields (lower-cased, '\0'-separated) keyed with the site
// secret (data_directory/srs.secret), in base32, so that the address survives MTAs
// that change the case of local parts. A reverse checks the hash and that TT is at most
// kMaxAgeDays old (for SRS1, the first forwarder's TT inside it); SRS1 is reversed to the
// previous hop's SRS0 address. Only bounces (the null sender) may use an SRS address:
// smtpd refuses other mail to one (smtpd/policy.hpp, check_srs_return), so an address
// seen once does not let anyone send to the original sender through us.
// Used by local (forward and reverse) and smtpd (which accepts only valid SRS
// recipients). Pure apart from load_secret/new_secret.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::mail::srs {

inline constexpr int kMaxAgeDays = 21;
inline constexpr std::size_t kHashLen = 6;
inline constexpr std::size_t kMinSecret = 16;

// Does this local part have the SRS0/SRS1 form ("SRS0=", "srs1+", ...)? Says nothing
// about validity.
bool is_srs(std::string_view local);

// The rewritten sender for forwarding mail from `local`@`domain` through `srs_domain`.
// An SRS0 or SRS1 sender of another forwarder becomes SRS1 (its first hop is kept).
// Fails when the result would not fit RFC 5321's 64-octet local part (the caller then
// forwards with the original sender) or the input is unusable.
// REQUIRES: secret.size() >= kMinSecret.
Result<std::string> forward(std::string_view secret, std::string_view local, std::string_view domain,
                            std::string_view srs_domain, std::int64_t now);

// The address one hop back for an SRS local part received at one of our domains:
// "local@domain" for SRS0, the previous forwarder's "SRS0...@host" for SRS1. UNTRUSTED
// input: fails on bad syntax, a wrong hash or an expired timestamp.
Result<std::string> reverse(std::string_view secret, std::string_view local, std::int64_t now);

// A fresh secret: 32 random bytes as 64 hex digits (OpenSSL RAND_bytes).
Result<std::string> new_secret();
// Reads the secret file (surrounding blanks removed); fails if shorter than kMinSecret.
Result<std::string> load_secret(const std::string& path);

}  // namespace common::mail::srs
