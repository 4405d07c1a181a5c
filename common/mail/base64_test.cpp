// Base64 (RFC 4648 10 test vectors) and the strictness of the decoder.
#include "common/mail/base64.hpp"

#include <doctest/doctest.h>

using common::mail::decode_base64;
using common::mail::encode_base64;

TEST_CASE("RFC 4648 10 test vectors round-trip") {
  const std::pair<const char*, const char*> v[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, enc] : v) {
    CAPTURE(plain);
    CHECK(encode_base64(plain) == enc);
    auto d = decode_base64(enc);
    REQUIRE(d.has_value());
    CHECK(*d == plain);
  }
  std::string bin("\0\xff\x01", 3);
  CHECK(decode_base64(encode_base64(bin)) == bin);
}

TEST_CASE("malformed base64 is refused, never guessed") {
  for (const char* bad : {"Zg", "Zg=", "Z===", "====", "Zm9v\r\n", " Zm9v", "Zm 9v", "Zm9v=", "Z=g=", "Zm=v",
                          "Zm9v*A==", "Zm9\x80", "Zh==", "Zm9=", "Zm+=", "Zg==Zg=="}) {
    CAPTURE(bad);
    CHECK_FALSE(decode_base64(bad).has_value());
  }
}
