// The content rules applied to a message (mailctl rule add word / attachment-size):
// phrases looked for in the Subject (RFC 2047 encoded words decoded) and in text/* parts
// after their transfer decoding (RFC 2045 6.7 quoted-printable, 6.8 base64), and the
// decoded size of each attachment. Pure; runs in the checks process, which reads the
// untrusted message and holds nothing. UNTRUSTED input; bounded by mime.hpp's limits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/mime.hpp"

namespace common::mail {

struct ContentRules {
  std::vector<std::string> reject_words;  // lower case
  std::vector<std::string> junk_words;
  std::uint64_t attachment_max = 0;  // 0: no limit
  bool empty() const { return reject_words.empty() && junk_words.empty() && attachment_max == 0; }
};

// The verdict, as CheckDone::content carries it.
enum class ContentVerdict : std::uint8_t {
  kPass = 0,
  kRejectWord = 1,      // a reject phrase: 550 5.7.1
  kJunkWord = 2,        // a junk phrase (and nothing refused): the Junk folder
  kAttachmentSize = 3,  // an attachment over attachment_max: 552 5.3.4
  kUnreadable = 4,      // a walker limit (mime.hpp) was reached first: 554 5.6.0
};

struct ContentResult {
  ContentVerdict verdict = ContentVerdict::kPass;
  std::string detail;  // where: "subject", "part 3", "part 2: 1048577 bytes", the limit
};

// A reject phrase or an oversized attachment ends the scan; a junk phrase is noted and
// the scan goes on (a later part may still refuse). A limit of the walker gives
// kUnreadable unless a refusal came first.
ContentResult scan_content(std::string_view message, const ContentRules& rules,
                           const MimeLimits& limits = {});

}  // namespace common::mail
