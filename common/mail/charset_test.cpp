// Charset conversion and case folding for the phrase rules (charset.hpp): the common
// single-byte charsets, a multi-byte one, broken input, names that are not charset names,
// and the growth bound.
#include "common/mail/charset.hpp"

#include <doctest/doctest.h>

#include "common/mail/mime_decode.hpp"

using namespace common::mail;

TEST_CASE("to_utf8: ISO-8859-1, windows-1252, KOI8-R, ISO-2022-JP into UTF-8") {
  CHECK(to_utf8("Pr\xe4mie", "ISO-8859-1") == "Pr\xc3\xa4mie");
  CHECK(to_utf8("Pr\xe4mie", "iso-8859-1") == "Pr\xc3\xa4mie");
  CHECK(to_utf8("\x80 5", "windows-1252") == "\xe2\x82\xac 5");                        // the euro sign
  CHECK(to_utf8("\xf0\xd2\xc9\xda", "KOI8-R") == "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb7");  // "Приз"
  // "日本" in ISO-2022-JP: ESC $ B, two JIS X 0208 characters, ESC ( B.
  CHECK(to_utf8("\x1b$BF|K\\\x1b(B", "ISO-2022-JP") == "\xe6\x97\xa5\xe6\x9c\xac");
}

TEST_CASE("to_utf8: left alone when there is nothing to do or nothing known") {
  CHECK(to_utf8("caf\xc3\xa9", "utf-8") == "caf\xc3\xa9");
  CHECK(to_utf8("caf\xc3\xa9", "UTF8") == "caf\xc3\xa9");
  CHECK(to_utf8("plain", "") == "plain");
  CHECK(to_utf8("plain", "us-ascii") == "plain");
  CHECK(to_utf8("\xe4", "x-no-such-charset") == "\xe4");
  // Not a charset name: nothing iconv could read as an option ("//TRANSLIT") or a path.
  CHECK(to_utf8("\xe4", "ISO-8859-1//TRANSLIT") == "\xe4");
  CHECK(to_utf8("\xe4", "../../x") == "\xe4");
  CHECK(to_utf8("\xe4", std::string(41, 'a')) == "\xe4");
}

TEST_CASE("to_utf8: invalid sequences become U+FFFD, the rest is converted, growth bounded") {
  // 0x81 is undefined in windows-1252.
  CHECK(to_utf8("a\x81z", "windows-1252") == "a\xef\xbf\xbdz");
  // A Shift_JIS lead byte at the very end: cut short.
  CHECK(to_utf8("ab\x82", "SHIFT_JIS") == "ab\xef\xbf\xbd");
  std::string junk(5000, '\x81');
  CHECK(to_utf8(junk, "windows-1252").size() <= junk.size() * kMaxGrowth + 16);
}

TEST_CASE("lower_utf8: every script, bytes that are not UTF-8 kept") {
  CHECK(lower_utf8("PR\xc3\x84MIE") == "pr\xc3\xa4mie");                                        // PRÄMIE
  CHECK(lower_utf8("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x97") == "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb7");  // ПРИЗ
  CHECK(lower_utf8("\xce\xa3") == "\xcf\x83");                                                  // Σ
  CHECK(lower_utf8("A\xff"
                   "B") ==
        "a\xff"
        "b");
  CHECK(lower_utf8("\xc0\x80") == "\xc0\x80");  // overlong: not UTF-8, kept
  CHECK(lower_utf8("\xc8\xba") == "\xc8\xba");  // U+023A lower-cases to a longer form: kept
}

TEST_CASE("encoded words in their charset, and folding for the phrase rules") {
  CHECK(decode_encoded_words("=?ISO-8859-1?Q?Pr=E4mie?=") == "Pr\xe4mie");  // octets only
  CHECK(decode_encoded_words("=?ISO-8859-1?Q?Pr=E4mie?=", true) == "Pr\xc3\xa4mie");
  CHECK(decode_encoded_words("=?koi8-r?B?8NLJ2g==?=", true) == "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb7");
  CHECK(decode_encoded_words("=?ISO-8859-1*de?Q?=E4?=", true) == "\xc3\xa4");  // RFC 2231 5 language
  CHECK(fold_for_matching("Gro\xc3\x9f\xc3\x84RTIGE\r\n  Pr\xc3\xa4MIE") ==
        "gro\xc3\x9f\xc3\xa4rtige pr\xc3\xa4mie");
}
