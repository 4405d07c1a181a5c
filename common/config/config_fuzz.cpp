// libFuzzer target for the mailbag.conf parser (common/config/config.hpp) and its value
// parsers. A file that parses must dump to a file that parses to the same values, and
// every error must name the file and line.
// Seeds: tests/fuzz/corpus/config_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config/config.hpp"

namespace config = common::config;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = config::parse(in, "fuzz.conf");
  if (!c) {
    require(c.message().rfind("fuzz.conf:", 0) == 0);
  } else {
    std::string d = config::dump(*c, "");
    auto again = config::parse(d, "dump");
    require(again.is_ok());
    require(config::dump(*again, "") == d);
  }
  // The value parsers on the raw input (short inputs only: they are line values).
  if (size <= 64) {
    if (auto n = config::parse_size(in)) require(*n >= 0);
    if (auto n = config::parse_duration(in)) require(*n >= 0);
    (void)config::parse_bool(in);
    if (auto hp = config::parse_host_port(in)) require(hp->port >= 1);
    for (const auto& item : config::split_list(in))
      require(!item.empty() && item.find_first_of(", \t") == std::string::npos);
  }
  return 0;
}
