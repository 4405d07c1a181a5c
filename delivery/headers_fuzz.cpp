// libFuzzer target for the header block parser (delivery/headers.hpp), the address-list
// and message-id extractors: whatever a sender puts in a header block, parsing ends,
// names are lower-case field names, values hold no line break.
// Seeds: tests/fuzz/corpus/headers_fuzz/. Replayed by `make unit`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "delivery/headers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool complete : {true, false}) {
    auto h = delivery::parse_headers(text, complete);
    for (const auto& f : h.fields) {
      if (f.name.empty()) std::abort();
      for (char c : f.name)
        if (c < 33 || c > 126 || c == ':' || (c >= 'A' && c <= 'Z')) std::abort();
      if (f.value.find('\n') != std::string::npos) std::abort();
      for (const auto& a : delivery::header_addresses(f.value))
        if (a.find('@') == std::string::npos) std::abort();
      for (const auto& id : delivery::msg_ids(f.value))
        if (id.size() < 3 || id.front() != '<' || id.back() != '>') std::abort();
    }
  }
  return 0;
}
