// The RFC5322.From domain that DMARC is about (RFC 7489 3.1, 6.6.1), from the header
// section of a message. Pure. UNTRUSTED input: the message as the client sent it.
#pragma once

#include <string>
#include <string_view>

namespace checks {

struct FromDomain {
  enum class Kind {
    kOk,        // exactly one From field with one address: `domain`
    kNone,      // no From field
    kMultiple,  // several From fields, or several addresses in it (6.6.1)
    kBad,       // no domain could be read
  };
  Kind kind = Kind::kNone;
  std::string domain;  // lower case
};

// `headers`: the header section (LF or CRLF line ends, folded or not); stops at the
// first empty line.
FromDomain from_domain(std::string_view headers);

// The header section of `message` (up to and without the empty line), at most `limit`
// bytes of it.
std::string_view header_section(std::string_view message, std::size_t limit);

}  // namespace checks
