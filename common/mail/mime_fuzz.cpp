// libFuzzer target for the MIME walker and the content rules (mime.hpp, mime_scan.hpp,
// mime_decode.hpp): any message gives a verdict within the limits, the transfer
// decodings never grow their input (RFC 2045 6.7, 6.8; RFC 2047), and every leaf part
// lies inside the message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/check.hpp"
#include "common/mail/charset.hpp"
#include "common/mail/mime.hpp"
#include "common/mail/mime_decode.hpp"
#include "common/mail/mime_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  MB_CHECK(common::mail::decode_quoted_printable(in).size() <= in.size(), "QP output grew");
  MB_CHECK(common::mail::decode_base64_lenient(in).size() <= in.size(), "base64 output grew");
  MB_CHECK(common::mail::decode_encoded_words(in).size() <= in.size(), "encoded words grew");
  MB_CHECK(common::mail::decode_encoded_words(in, true).size() <= in.size() * common::mail::kMaxGrowth + 16,
           "converted encoded words grew past the bound");
  MB_CHECK(common::mail::fold_for_matching(in).size() <= in.size(), "folding grew");
  MB_CHECK(common::mail::to_utf8(in, "iso-2022-jp").size() <= in.size() * common::mail::kMaxGrowth + 16,
           "conversion grew past the bound");
  common::mail::MimeLimits lim;
  lim.max_parts = 200;
  lim.max_depth = 8;
  lim.max_header_section = 4096;
  lim.max_field = 512;
  std::size_t leaves = 0;
  auto w = common::mail::walk_mime(in, lim, [&](const common::mail::MimePart& p) {
    MB_CHECK(p.body.empty() ||
                 (p.body.data() >= in.data() && p.body.data() + p.body.size() <= in.data() + in.size()),
             "part outside the message");
    MB_CHECK(p.depth <= lim.max_depth, "part deeper than the limit");
    ++leaves;
    return true;
  });
  MB_CHECK(w.parts <= lim.max_parts + 1 && leaves <= w.parts, "part count past the limit");
  MB_CHECK(w.subject.size() <= lim.max_field, "field longer than the limit");
  common::mail::ContentRules rules;
  rules.reject_words = {"cheap pills"};
  rules.junk_words = {"lottery"};
  rules.attachment_max = 64;
  auto r = common::mail::scan_content(in, rules, lim);
  MB_CHECK(static_cast<int>(r.verdict) <= 4, "verdict out of range");
  return 0;
}
