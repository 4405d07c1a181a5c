// The TLSRPT policy record (RFC 8460 3): the `_smtp._tls.<domain>` TXT record that says
// where a policy domain wants its aggregate reports. Pure; tested in txt_test.cpp and
// fuzzed by tlsrpt_txt_fuzz.cpp.
// UNTRUSTED: the records come from DNS.
//   RFC 8460 3: records that do not start with "v=TLSRPTv1" are discarded; if not exactly
//   one is left, the domain does not implement TLSRPT. Fields are separated by ";" with
//   optional blanks around; "rua=" holds one or more URIs separated by ","; other fields
//   are extensions (name "=" value) and ignored.
//   RFC 8460 3: a URI is "mailto:" (RFC 6068) or "https:"; any other is ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::tlsrpt {

struct RuaRecord {
  std::vector<std::string> mailto;  // the addresses of the mailto: URIs (percent-decoded)
  std::vector<std::string> https;   // the https: URIs as given
};

inline constexpr std::size_t kMaxRua = 8;  // URIs used at most (the rest ignored)

// `records`: each TXT record's strings joined.
Result<RuaRecord> parse_tlsrpt_txt(const std::vector<std::string>& records);

// One record (which must start with "v=TLSRPTv1").
Result<RuaRecord> parse_tlsrpt_record(std::string_view record);

}  // namespace common::tlsrpt
