// Checks that man/mailbag.conf.5 documents every key of the table in keys.cpp, each as a
// ".It Cm key Li = Ar default" entry whose default matches the table, so the manual
// cannot fall behind the code.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "common/config/config.hpp"
#include "common/io/fdio.hpp"

TEST_CASE("every config key is documented in mailbag.conf(5)") {
  const std::string path = MAILBAG_SOURCE_DIR "/man/mailbag.conf.5";
  auto page = common::io::read_file(path);
  REQUIRE_MESSAGE(page.is_ok(), page.message());
  for (const auto& k : common::config::keys()) {
    const std::string want = ".It Cm " + std::string(k.name) + " ";
    std::istringstream in(*page);
    std::string line, found;
    int count = 0;
    while (std::getline(in, line)) {
      if (line.rfind(want, 0) == 0 || line == ".It Cm " + std::string(k.name)) {
        found = line;
        ++count;
      }
    }
    INFO("key ", std::string(k.name), " in ", path);
    CHECK_MESSAGE(count == 1, "want exactly one '.It Cm ", std::string(k.name), " Li = Ar DEFAULT' line");
    if (count == 1 && !k.default_value.empty()) {
      CHECK_MESSAGE(found == ".It Cm " + std::string(k.name) + " Li = Ar " + std::string(k.default_value),
                    "documented default differs from the table's '", std::string(k.default_value), "'");
    }
  }
}
