// Tag lists (RFC 6376 3.2), the syntax of DKIM key records and of DMARC records
// (RFC 7489 6.4): "tag=value" pairs separated by ";", whitespace around tags, values
// and separators ignored, a duplicate tag an error.
// UNTRUSTED: parses TXT records from the DNS.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::dkim {

// Tag names as written (case kept: DKIM tags are case-sensitive); values trimmed.
Result<std::map<std::string, std::string>> parse_tags(std::string_view text);

// A value with every whitespace character removed (base64 in p=, b=, bh=).
std::string without_space(std::string_view v);

}  // namespace common::dkim
