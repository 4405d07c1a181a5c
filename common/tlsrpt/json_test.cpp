// Unit tests for the JSON writer: escaping (RFC 8259 7) and the placement of commas.
#include "common/tlsrpt/json.hpp"

#include <doctest/doctest.h>

using common::tlsrpt::json_string;
using common::tlsrpt::JsonWriter;

TEST_CASE("json strings: quote, backslash and control characters are escaped") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("l1\r\nl2\t") == "\"l1\\r\\nl2\\t\"");
  CHECK(json_string(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
  CHECK(json_string(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(json_string("</script>") == "\"</script>\"");
}

TEST_CASE("json strings: valid UTF-8 is kept, invalid bytes become U+FFFD") {
  CHECK(json_string("b\xc3\xbc\x63her \xe2\x82\xac \xf0\x9f\x98\x80") ==
        "\"b\xc3\xbc\x63her \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json_string("\xff") == "\"\\ufffd\"");
  CHECK(json_string("\xc3") == "\"\\ufffd\"");                                   // cut short
  CHECK(json_string("\xc0\xaf") == "\"\\ufffd\\ufffd\"");                        // overlong
  CHECK(json_string("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");             // a surrogate
  CHECK(json_string("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
}

TEST_CASE("json writer: members, nested containers and commas") {
  JsonWriter w;
  w.begin_object();
  w.member("name", "x");
  w.member("n", std::int64_t{-3});
  w.key("list");
  w.begin_array();
  w.begin_object();
  w.member("a", std::int64_t{1});
  w.end_object();
  w.begin_object();
  w.end_object();
  w.end_array();
  w.member("strings", std::vector<std::string>{"p", "q"});
  w.member("none", std::vector<std::string>{});
  w.end_object();
  CHECK(w.str() == R"({"name":"x","n":-3,"list":[{"a":1},{}],"strings":["p","q"],"none":[]})");
}
