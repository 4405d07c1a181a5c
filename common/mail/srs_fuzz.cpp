// libFuzzer target for SRS reversal (common/mail/srs.hpp): reverse() parses recipient
// local parts from the network. Whatever it accepts must be a valid mailbox, and what
// forward() makes must reverse to where it came from.
// Seeds: tests/fuzz/corpus/srs_fuzz/. Replayed by `make unit`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/mail/address.hpp"
#include "common/mail/srs.hpp"

namespace mail = common::mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string secret = "fuzzing-secret-0123456789abcdef";
  constexpr std::int64_t now = 1750000000;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = mail::srs::reverse(secret, text, now);
  if (r.is_ok() && !mail::parse_mailbox(*r, true).is_ok()) std::abort();
  // Split the input as "local@domain" and forward it: a result must come back.
  auto at = text.rfind('@');
  if (at != std::string_view::npos && at > 0) {
    auto a = mail::parse_mailbox(text, true);
    if (a.is_ok() && !a->domain.empty() && !a->literal) {
      auto f = mail::srs::forward(secret, a->local, a->domain, "fwd.example", now);
      if (f.is_ok()) {
        auto l = f->substr(0, f->rfind('@'));
        auto back = mail::srs::reverse(secret, l, now);
        if (!back.is_ok()) std::abort();
        if (!mail::srs::is_srs(a->local) && *back != a->str()) std::abort();
      }
    }
  }
  return 0;
}
