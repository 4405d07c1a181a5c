// The example config that make install writes must load as it is, and with every key
// uncommented (each default written out) it must load too and equal the defaults.
#include <doctest/doctest.h>

#include "common/config/config.hpp"

using namespace common::config;

TEST_CASE("example config: loads commented, and uncommented gives the defaults") {
  std::string ex = example();
  auto commented = parse(ex, "example.conf");
  REQUIRE_MESSAGE(commented, commented.message());
  std::string uncommented;
  std::size_t pos = 0;
  std::size_t nkeys = 0;
  while (pos < ex.size()) {
    std::size_t nl = ex.find('\n', pos);
    std::string line = ex.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.size() > 1 && line[0] == '#' && line.find(" = ") != std::string::npos && line[1] != ' ') {
      line.erase(0, 1);
      ++nkeys;
    }
    uncommented += line + "\n";
  }
  CHECK(nkeys == keys().size());
  auto all = parse(uncommented, "example.conf");
  REQUIRE_MESSAGE(all, all.message());
  CHECK(dump(*all, "") == dump(*commented, ""));
}
