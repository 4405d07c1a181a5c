// Tests for DKIM relaxed canonicalisation (canon.hpp): the examples of RFC 6376 3.4.5,
// line splitting as the remote agent sends lines, and the header collector.
#include "common/dkim/canon.hpp"

#include <doctest/doctest.h>

using namespace common::dkim;

namespace {
std::vector<std::string> lines_of(std::string_view text, std::size_t chunk) {
  std::vector<std::string> out;
  LineSplitter s([&](std::string_view l) { out.emplace_back(l); });
  for (std::size_t i = 0; i < text.size(); i += chunk) s.feed(text.substr(i, chunk));
  s.finish();
  return out;
}
}  // namespace

TEST_CASE("RFC 6376 3.4.5 example: relaxed header") {
  CHECK(relaxed_header("A: X ") == "a:X\r\n");
  CHECK(relaxed_header("B : Y\t\r\n\tZ  ") == "b:Y Z\r\n");
}

TEST_CASE("RFC 6376 3.4.5 example: relaxed body") {
  CHECK(relaxed_body(" C \r\nD \t E\r\n\r\n\r\n") == " C\r\nD E\r\n");
  // The same body with the queue's LF line ends.
  CHECK(relaxed_body(" C \nD \t E\n\n\n") == " C\r\nD E\r\n");
}

TEST_CASE("relaxed body edge cases") {
  CHECK(relaxed_body("") == "");
  CHECK(relaxed_body("\n\n\n") == "");
  CHECK(relaxed_body("  \t \n") == "");                 // only WSP: an empty line
  CHECK(relaxed_body("last line") == "last line\r\n");  // no final line end: one is sent
  CHECK(relaxed_body("a\n\nb\n") == "a\r\n\r\nb\r\n");  // inner empty lines stay
  CHECK(relaxed_body("a\rb\r\n") == "a\r\nb\r\n");      // a bare CR ends a line on the wire
}

TEST_CASE("line splitting does not depend on chunk boundaries") {
  std::string text = "one\r\ntwo\rthree\nfour\r\r\nfive";
  std::vector<std::string> want = {"one", "two", "three", "four", "", "five"};
  for (std::size_t chunk : {1, 2, 3, 5, 100}) CHECK(lines_of(text, chunk) == want);
  CHECK(lines_of("x\r", 1) == std::vector<std::string>{"x"});
}

TEST_CASE("header collector: folding, names, end of header") {
  HeaderCollector h;
  CHECK(h.add_line("From: a@example.org"));
  CHECK(h.add_line("Subject: one"));
  CHECK(h.add_line("\ttwo"));
  CHECK(h.add_line("Broken line"));
  CHECK(h.add_line("X-Odd : v"));
  CHECK_FALSE(h.add_line(""));
  CHECK(h.done());
  CHECK_FALSE(h.add_line("Body: not a header"));
  REQUIRE(h.fields().size() == 4);
  CHECK(h.fields()[1].name == "Subject");
  CHECK(h.fields()[1].raw == "Subject: one\r\n\ttwo");
  CHECK(h.fields()[2].name.empty());
  CHECK(h.fields()[3].name == "X-Odd");
  CHECK(relaxed_header(h.fields()[1].raw) == "subject:one two\r\n");
}
