// Tests of check-dns's pure DNS helpers: reverse names (RFC 1035 3.5, RFC 3596 2.5),
// PTR and TXT RDATA decoding (RFC 1035 3.3.12, 3.3.14), address canonical form.
#include "mailctl/dns_lookup.hpp"

#include <doctest/doctest.h>

using namespace mailctl;
using namespace std::string_literals;

TEST_CASE("reverse_name") {
  CHECK(reverse_name("192.0.2.1") == "1.2.0.192.in-addr.arpa");
  CHECK(reverse_name("127.10.3.200") == "200.3.10.127.in-addr.arpa");
  CHECK(reverse_name("2001:db8::567:89ab") ==
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  CHECK(reverse_name("mx.example.org") == "");
  CHECK(reverse_name("192.0.2") == "");
  CHECK(reverse_name("") == "");
}

TEST_CASE("canonical_ip and is_ipv6") {
  CHECK(canonical_ip("127.0.0.1") == "127.0.0.1");
  CHECK(canonical_ip("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK(canonical_ip("::") == "::");
  CHECK(canonical_ip("1.2.3") == "");
  CHECK(canonical_ip("mx.example.org") == "");
  CHECK(is_ipv6("::1"));
  CHECK_FALSE(is_ipv6("127.0.0.1"));
}

TEST_CASE("decode_name: a PTR target") {
  auto n = decode_name("\x02mx\x04Peer\x04test\x00"s);
  REQUIRE_MESSAGE(n, n.message());
  CHECK(*n == "mx.peer.test");
  auto root = decode_name("\x00"s);
  REQUIRE(root);
  CHECK(*root == "");
  CHECK_FALSE(decode_name(""));
  CHECK_FALSE(decode_name("\x05mx"s));          // label past the end
  CHECK_FALSE(decode_name("\x02mx\x00\x01"s));  // trailing bytes
  CHECK_FALSE(decode_name("\x02mx\xc0\x0c"s));  // compression is not allowed here
  CHECK_FALSE(decode_name(std::string(1, '\x40') + std::string(64, 'a') + '\0'));  // label > 63
}

TEST_CASE("decode_txt: character-strings joined (RFC 7208 3.3)") {
  auto t = decode_txt("\x06v=spf1\x08 mx -all"s);
  REQUIRE(t);
  CHECK(*t == "v=spf1 mx -all");
  auto empty = decode_txt("\x00"s);
  REQUIRE(empty);
  CHECK(*empty == "");
  CHECK_FALSE(decode_txt(""));
  CHECK_FALSE(
      decode_txt("\x05"
                 "abc"s));
  CHECK_FALSE(
      decode_txt("\x03"
                 "abc\x02"
                 "d"s));
}
