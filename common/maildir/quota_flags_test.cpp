// Tests for the "mailbox full" flag files (quota_flags.hpp): set, read, list, clear, and
// names that could escape the directory.
#include "common/maildir/quota_flags.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/io/fdio.hpp"

using namespace common::maildir;

TEST_CASE("flags: set, seen, listed, cleared; the file says why") {
  char t[] = "/tmp/quota-flags-test-XXXXXX";
  REQUIRE(::mkdtemp(t) != nullptr);
  std::string dir = t;
  CHECK_FALSE(has_full_flag(dir, "alice@example.org"));
  REQUIRE(set_full_flag(dir, "alice@example.org", 1200, 1000, 1750000000).is_ok());
  REQUIRE(set_full_flag(dir, "bob@example.org", 5, 5, 1).is_ok());
  CHECK(has_full_flag(dir, "alice@example.org"));
  auto text = common::io::read_file(dir + "/alice@example.org");
  REQUIRE(text.is_ok());
  CHECK(*text == "1200 1000 1750000000\n");
  struct stat st;
  REQUIRE(::stat((dir + "/alice@example.org").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  auto all = full_flags(dir);
  REQUIRE(all.is_ok());
  std::sort(all->begin(), all->end());
  CHECK(*all == std::vector<std::string>{"alice@example.org", "bob@example.org"});
  REQUIRE(clear_full_flag(dir, "alice@example.org").is_ok());
  REQUIRE(clear_full_flag(dir, "alice@example.org").is_ok());  // twice is fine
  CHECK_FALSE(has_full_flag(dir, "alice@example.org"));
  CHECK(full_flags(dir + "/missing")->empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("flag names cannot leave the directory") {
  CHECK(valid_flag_name("alice@example.org"));
  for (const char* bad : {"", ".", "..", "../x", "a/b", ".hidden", "a b", "a\nb"})
    CHECK_FALSE(valid_flag_name(bad));
  CHECK_FALSE(set_full_flag("/tmp", "../etc/passwd", 1, 1, 1).is_ok());
  CHECK_FALSE(has_full_flag("/", "etc/passwd"));
}
