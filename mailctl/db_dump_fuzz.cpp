// libFuzzer target for the accounts dump (db_dump.hpp, read by `mailctl db import`): any
// bytes parse or fail cleanly, and what parses formats to a dump that parses the same.
#include <cstdint>
#include <string_view>

#include "common/check.hpp"
#include "mailctl/db_dump.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = mailctl::parse_dump(in);
  if (!d) return 0;
  std::string again = mailctl::format_dump(*d);
  auto d2 = mailctl::parse_dump(again);
  MB_CHECK(d2.is_ok(), "a formatted dump parses");
  MB_CHECK(mailctl::format_dump(*d2) == again, "format is stable");
  return 0;
}
