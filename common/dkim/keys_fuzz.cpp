// libFuzzer target for the DKIM parsers: the key store's `keys` file (store.hpp), the
// From: domain parser (policy.hpp) and the tag lists of DNS records (tags.hpp).
// Whatever parse_keys accepts must format and parse back to the same entries.
// Seeds: tests/fuzz/corpus/keys_fuzz/. Replayed by `make unit`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/dkim/canon.hpp"
#include "common/dkim/policy.hpp"
#include "common/dkim/store.hpp"
#include "common/dkim/tags.hpp"

namespace dkim = common::dkim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto keys = dkim::parse_keys(text);
  if (keys.is_ok()) {
    auto again = dkim::parse_keys(dkim::format_keys(*keys));
    if (!again.is_ok() || *again != *keys) std::abort();
  }
  std::string d = dkim::from_header_domain(text);
  if (d.find('@') != std::string::npos || d.find(' ') != std::string::npos) std::abort();
  auto tags = dkim::parse_tags(text);
  if (tags.is_ok())
    for (const auto& [k, v] : *tags)
      if (k.empty() || k.find(';') != std::string::npos || v.find(';') != std::string::npos) std::abort();
  // The header collector and canonicaliser over the same bytes as a message.
  std::string c = dkim::relaxed_body(text);
  if (!c.empty() && !c.ends_with("\r\n")) std::abort();
  return 0;
}
