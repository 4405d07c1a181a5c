// The header block of a message being delivered, for the decisions the local agent takes
// from it: mail loops (Delivered-To, the Received count), auto-replies (RFC 3834:
// Auto-Submitted, Precedence, List-Id, To/Cc, Subject, Message-ID, References). Only
// the first kMaxHeaderBlock bytes are read; names are compared lower-case and values
// unfolded (RFC 5322 2.2.3). Pure parsing plus one read; fuzzed in headers_fuzz.cpp.
// UNTRUSTED: the header block comes from whoever sent the message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "delivery/message.hpp"

namespace delivery {

inline constexpr std::size_t kMaxHeaderBlock = 64 * 1024;

struct HeaderField {
  std::string name;   // lower-case, without trailing blanks ("subject")
  std::string value;  // unfolded, leading and trailing blanks removed
};

struct Headers {
  std::vector<HeaderField> fields;
  // The block did not end (empty line or end of message) within the bytes read.
  bool truncated = false;

  // Values of `name` (lower-case) in order.
  std::vector<std::string_view> all(std::string_view name) const;
  // The first value of `name`, or "" when there is none (see has()).
  std::string_view first(std::string_view name) const;
  bool has(std::string_view name) const;
  std::size_t count(std::string_view name) const;
};

// Parses the header block at the start of `data` (LF or CRLF line ends). It ends at the
// first empty line, at a line that is neither a field nor a continuation, or at the end
// of `data`; `complete` says whether `data` is the whole message (then running out of
// bytes is the end of the message, not a truncation).
Headers parse_headers(std::string_view data, bool complete);

// Reads the first kMaxHeaderBlock bytes of the message and parses them.
common::Result<Headers> read_headers(const MessageRef& m);

// The addr-specs ("local@domain") of an address-list value such as To: or Cc:
// (RFC 5322 3.4): "a@b", "Name <a@b>", "a@b (comment)", groups "g: a@b, c@d;". Anything
// without '@' is dropped. Quoting of the local part is kept as written.
std::vector<std::string> header_addresses(std::string_view value);

// The first "<...>" message identifier in a Message-ID/In-Reply-To/References value
// ("" if none), and all of them in order.
std::string first_msg_id(std::string_view value);
std::vector<std::string> msg_ids(std::string_view value);

}  // namespace delivery
