// libFuzzer target for the maildirsize parser (common/maildir/maildirsize.hpp): the file
// is writable by every program of the Maildir's group, so its text is untrusted. What
// parses must have non-negative totals and survive a format/parse round trip.
// Seeds: tests/fuzz/corpus/maildirsize_fuzz/. Replayed by `make unit`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/maildir/maildirsize.hpp"

namespace md = common::maildir;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = md::parse_maildirsize(text);
  if (p.is_ok()) {
    if (p->usage.bytes < 0 || p->usage.count < 0) std::abort();
    std::string again =
        md::format_quota_def(p->def) + "\n" + md::format_delta(p->usage.bytes, p->usage.count);
    auto q = md::parse_maildirsize(again);
    if (!q.is_ok() || !(q->def == p->def) || q->usage.bytes != p->usage.bytes ||
        q->usage.count != p->usage.count)
      std::abort();
  }
  (void)md::size_field(text);
  return 0;
}
