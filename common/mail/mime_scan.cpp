// The content rules over the MIME walk (see mime_scan.hpp).
#include "common/mail/mime_scan.hpp"

#include "common/mail/charset.hpp"
#include "common/mail/mime_decode.hpp"

namespace common::mail {
namespace {

std::string decoded(const MimePart& p) {
  if (p.encoding == "base64") return decode_base64_lenient(p.body);              // RFC 2045 6.8
  if (p.encoding == "quoted-printable") return decode_quoted_printable(p.body);  // RFC 2045 6.7
  return std::string(p.body);  // 7bit, 8bit, binary, or unknown: as it is (RFC 2045 6.4)
}

// The first phrase in `words` found in `text` (both folded), or nullptr.
const std::string* find_phrase(const std::string& text, const std::vector<std::string>& words) {
  for (const auto& w : words)
    if (!w.empty() && text.find(w) != std::string::npos) return &w;
  return nullptr;
}

std::vector<std::string> folded(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) out.push_back(fold_for_matching(w));
  return out;
}

}  // namespace

ContentResult scan_content(std::string_view message, const ContentRules& rules, const MimeLimits& limits) {
  ContentResult res;
  std::vector<std::string> reject = folded(rules.reject_words), junk = folded(rules.junk_words);
  bool words = !reject.empty() || !junk.empty();
  auto look = [&](const std::string& text, const std::string& where) {
    if (find_phrase(text, reject)) {
      res.verdict = ContentVerdict::kRejectWord;
      res.detail = where;
      return false;
    }
    if (res.verdict == ContentVerdict::kPass && find_phrase(text, junk)) {
      res.verdict = ContentVerdict::kJunkWord;
      res.detail = where;
    }
    return true;
  };
  MimeWalk w = walk_mime(message, limits, [&](const MimePart& p) {
    bool text = p.type.rfind("text/", 0) == 0;
    if (!(text && words) && !(p.attachment && rules.attachment_max)) return true;
    std::string body = decoded(p);
    std::string where = "part " + std::to_string(p.index);
    if (p.attachment && rules.attachment_max && body.size() > rules.attachment_max) {
      res.verdict = ContentVerdict::kAttachmentSize;
      res.detail = where + ": " + std::to_string(body.size()) + " bytes";
      return false;
    }
    // RFC 2046 4.1.2: the text is in its charset (US-ASCII when none is named); the
    // phrases are UTF-8.
    if (text && words) return look(fold_for_matching(to_utf8(body, p.charset)), where);
    return true;
  });
  // The Subject, also when the walk stopped at a limit (the header is read first).
  if (words && res.verdict != ContentVerdict::kRejectWord && res.verdict != ContentVerdict::kAttachmentSize) {
    // RFC 2047 6.1: encoded words in an unstructured field are decoded for display.
    look(fold_for_matching(decode_encoded_words(w.subject, true)), "subject");
  }
  if (res.verdict == ContentVerdict::kRejectWord || res.verdict == ContentVerdict::kAttachmentSize)
    return res;
  if (w.status != MimeStatus::kOk && w.status != MimeStatus::kStopped) {
    res.verdict = ContentVerdict::kUnreadable;
    res.detail = mime_status_name(w.status);
  }
  return res;
}

}  // namespace common::mail
