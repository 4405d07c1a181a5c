// Checks that man/mailbag.conf.5 documents every key of the table in keys.cpp, each as a
// ".It Cm key Li = Ar default" entry whose default matches the table, so the manual
// cannot fall behind the code; and that its RELOADING section lists exactly the keys that
// need a restart.
#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>

#include "common/config/config.hpp"
#include "common/config/reload.hpp"
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

TEST_CASE("mailbag.conf(5) RELOADING lists exactly the restart-only keys") {
  auto page = common::io::read_file(MAILBAG_SOURCE_DIR "/man/mailbag.conf.5");
  REQUIRE_MESSAGE(page.is_ok(), page.message());
  auto at = page->find(".Ss Reloading");
  REQUIRE(at != std::string::npos);
  auto bd = page->find(".Bd -literal", at);
  auto ed = page->find(".Ed", bd);
  REQUIRE(bd != std::string::npos);
  REQUIRE(ed != std::string::npos);
  std::istringstream in(page->substr(bd, ed - bd));
  std::string word;
  std::getline(in, word);  // ".Bd -literal -offset indent"
  std::set<std::string> listed, want;
  while (in >> word) listed.insert(word);
  for (auto k : common::config::restart_keys()) want.insert(std::string(k));
  CHECK(listed == want);
}
