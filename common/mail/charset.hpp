// Text of a message in its declared charset (the "charset" parameter of a text part,
// RFC 2045 5.1 / RFC 2046 4.1.2, and of an RFC 2047 encoded word) turned into UTF-8, and
// folded to lower case across scripts, so that the administrator's phrase rules (written
// in UTF-8) match mail written in ISO-8859-x, windows-125x, KOI8-R and the rest. The
// conversion is the C library's iconv; the case mapping its Unicode tables (C.UTF-8).
// Lenient, as a reader must be: an unknown charset leaves the octets as they are, an
// invalid sequence becomes U+FFFD, and the output never exceeds kMaxGrowth times the
// input. UNTRUSTED input, all of it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace common::mail {

inline constexpr std::size_t kMaxGrowth = 3;

// `charset` as a message names it, in any case ("" and "us-ascii" and "utf-8" leave the
// text alone). A name that is not a plain charset name (only letters, digits and
// "-_.:+()", at most 40 octets: nothing that iconv would read as an option) is unknown.
std::string to_utf8(std::string_view text, std::string_view charset);

// Lower case of UTF-8 text, code point by code point (towlower in C.UTF-8): "Ä" -> "ä",
// "Ж" -> "ж", "Σ" -> "σ". Bytes that are not UTF-8 are kept as they are.
std::string lower_utf8(std::string_view text);

}  // namespace common::mail
