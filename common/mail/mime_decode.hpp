// Content transfer decodings of MIME, for reading what a message says (the content
// rules of the checks process): quoted-printable (RFC 2045 6.7), base64 (RFC 2045 6.8)
// and encoded words in header fields (RFC 2047). Pure and lenient as RFC 2045 asks of
// readers: broken input decodes to something, never to an error, and the output is
// never larger than the input (so a caller's size bound holds for both).
#pragma once

#include <string>
#include <string_view>

namespace common::mail {

// RFC 2045 6.7: "=XX" is the octet XX, "=" at a line end is a soft line break
// (trailing whitespace before the line end is dropped, rule (3)); an "=" not followed
// by two hex digits is kept as it is (6.7 note (2): the robust reading).
std::string decode_quoted_printable(std::string_view in);

// RFC 2045 6.8: characters outside the base64 alphabet are ignored, decoding stops at
// the first "=" pad; a final group of one character (not a whole octet) is dropped.
std::string decode_base64_lenient(std::string_view in);

// RFC 2047: every encoded word "=?charset?B|Q?text?=" of an unstructured field is
// replaced by its octets, and linear white space between two adjacent encoded words is
// dropped (RFC 2047 6.2). An encoded word that does not parse stays as it is. In "Q"
// (RFC 2047 4.2) "_" is a space. With `utf8`, each word's octets are converted from its
// charset to UTF-8 (charset.hpp; RFC 2231 5's "*language" suffix ignored): then the
// output may be up to kMaxGrowth times the input.
std::string decode_encoded_words(std::string_view in, bool utf8 = false);

// The value for matching phrases: lower case (ASCII, and every script through
// lower_utf8), every run of white space (space, tab, CR, LF) one space, so that a phrase
// folded or wrapped across lines, or written in other capitals, still matches. Never
// longer than the input.
std::string fold_for_matching(std::string_view in);

}  // namespace common::mail
