// Unit tests for common/mail/mime_decode.hpp: quoted-printable (RFC 2045 6.7), base64
// (RFC 2045 6.8) and encoded words (RFC 2047), each with broken input.
#include "common/mail/mime_decode.hpp"

#include <doctest/doctest.h>

using namespace common::mail;

TEST_CASE("RFC 2045 6.7: quoted-printable escapes, soft breaks, trailing space") {
  CHECK(decode_quoted_printable("caf=C3=A9") == "caf\xc3\xa9");
  CHECK(decode_quoted_printable("caf=c3=a9") == "caf\xc3\xa9");  // lower case accepted
  CHECK(decode_quoted_printable("soft=\r\nbreak") == "softbreak");
  CHECK(decode_quoted_printable("soft= \t\nbreak") == "softbreak");
  CHECK(decode_quoted_printable("line  \r\nnext") == "line\r\nnext");  // rule (3)
  CHECK(decode_quoted_printable("a b") == "a b");
  CHECK(decode_quoted_printable("end=") == "end");
}

TEST_CASE("RFC 2045 6.7 note (2): broken quoted-printable is kept, not refused") {
  CHECK(decode_quoted_printable("=ZZ") == "=ZZ");
  CHECK(decode_quoted_printable("=4") == "=4");
  CHECK(decode_quoted_printable("100% =") == "100% ");
  CHECK(decode_quoted_printable("=") == "");
  CHECK(decode_quoted_printable("==41") == "=A");
}

TEST_CASE("RFC 2045 6.8: base64, lenient") {
  CHECK(decode_base64_lenient("aGVsbG8=") == "hello");
  CHECK(decode_base64_lenient("aGVs\r\nbG8=") == "hello");
  CHECK(decode_base64_lenient("aGV*s!bG8") == "hello");        // outside the alphabet: ignored
  CHECK(decode_base64_lenient("aGVsbG8=garbage") == "hello");  // the pad ends the data
  CHECK(decode_base64_lenient("aGVsbG8") == "hello");          // missing pad
  CHECK(decode_base64_lenient("a") == "");                     // no whole octet
  CHECK(decode_base64_lenient("") == "");
  std::string big(100000, 'A');
  CHECK(decode_base64_lenient(big).size() == 75000);
}

TEST_CASE("RFC 2047: encoded words, B and Q, adjacent words joined") {
  CHECK(decode_encoded_words("=?utf-8?Q?cheap_pills?=") == "cheap pills");
  CHECK(decode_encoded_words("=?UTF-8?B?Y2hlYXAgcGlsbHM=?=") == "cheap pills");
  CHECK(decode_encoded_words("Re: =?iso-8859-1?q?caf=E9?= now") == "Re: caf\xe9 now");
  // RFC 2047 6.2: white space between encoded words is dropped, not elsewhere.
  CHECK(decode_encoded_words("=?utf-8?q?che?= \r\n =?utf-8?q?ap?=") == "cheap");
  CHECK(decode_encoded_words("a =?utf-8?q?b?= c") == "a b c");
  // Not encoded words: kept.
  CHECK(decode_encoded_words("=?utf-8?x?abc?=") == "=?utf-8?x?abc?=");
  CHECK(decode_encoded_words("=?utf-8?q?no end") == "=?utf-8?q?no end");
  CHECK(decode_encoded_words("=?utf-8?q?sp ace?=") == "=?utf-8?q?sp ace?=");
  CHECK(decode_encoded_words("=??q?x?=") == "=??q?x?=");
}

TEST_CASE("folding for matching: case and white space") {
  CHECK(fold_for_matching("  Cheap\r\n\tPILLS  ") == "cheap pills");
  CHECK(fold_for_matching("") == "");
  CHECK(fold_for_matching("\xc3\x89t\xc3\xa9") == "\xc3\xa9t\xc3\xa9");  // UTF-8 capitals too: "Été"
}
