// libFuzzer target for relayctl's `load` file parser (common::relaydb::parse_dump): any
// bytes must parse or fail cleanly, and whatever parses must print back (format_entry)
// to text that parses to the same entries.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "common/relaydb/relaydb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = common::relaydb::parse_dump(text, "fuzz");
  if (!parsed) return 0;
  std::string again;
  for (const auto& e : *parsed) {
    MB_CHECK(e.ticks >= 0 && e.ticks <= common::relaydb::kMaxTicks, "ticks out of range");
    auto n = common::relaydb::normalize(e.address);
    MB_CHECK(n.is_ok() && *n == e.address, "entry address not normalised");
    again += common::relaydb::format_entry(e);
  }
  auto round = common::relaydb::parse_dump(again, "fuzz");
  MB_CHECK(round.is_ok() && *round == *parsed, "dump does not round-trip");
  return 0;
}
