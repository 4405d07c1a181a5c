// CIDR parsing and matching: prefixes of every length, IPv4-mapped IPv6, host bits,
// and the malformed inputs a config file may hold.
#include "common/net/cidr.hpp"

#include <doctest/doctest.h>

using common::net::IpAddress;
using common::net::Network;
using common::net::NetworkList;

namespace {

bool in(const char* net, const char* addr) {
  auto n = Network::parse(net);
  REQUIRE_MESSAGE(n.is_ok(), n.message());
  auto a = IpAddress::parse(addr);
  REQUIRE_MESSAGE(a.is_ok(), a.message());
  return n->contains(*a);
}

}  // namespace

TEST_CASE("IPv4 networks") {
  CHECK(in("127.0.0.0/8", "127.0.0.1"));
  CHECK(in("127.0.0.0/8", "127.255.3.9"));
  CHECK_FALSE(in("127.0.0.0/8", "128.0.0.1"));
  CHECK(in("192.0.2.0/24", "192.0.2.255"));
  CHECK_FALSE(in("192.0.2.0/24", "192.0.3.0"));
  CHECK(in("10.0.0.0/9", "10.127.0.1"));
  CHECK_FALSE(in("10.0.0.0/9", "10.128.0.1"));
  CHECK(in("0.0.0.0/0", "203.0.113.5"));
  CHECK(in("192.0.2.7", "192.0.2.7"));  // a bare address is one host
  CHECK_FALSE(in("192.0.2.7", "192.0.2.8"));
  CHECK(in("192.0.2.7/32", "192.0.2.7"));
}

TEST_CASE("IPv6 networks, and IPv4 never matches IPv6") {
  CHECK(in("::1/128", "::1"));
  CHECK_FALSE(in("::1/128", "::2"));
  CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
  CHECK_FALSE(in("2001:db8::/32", "2001:db9::1"));
  CHECK(in("2001:db8::/33", "2001:db8:7fff::1"));
  CHECK_FALSE(in("2001:db8::/33", "2001:db8:8000::1"));
  CHECK(in("::/0", "2001:db8::1"));
  CHECK_FALSE(in("::/0", "192.0.2.1"));
  CHECK_FALSE(in("0.0.0.0/0", "2001:db8::1"));
  CHECK(in("[2001:db8::]/32", "[2001:db8::5]"));
}

TEST_CASE("IPv4-mapped IPv6 addresses match as IPv4") {
  CHECK(in("127.0.0.0/8", "::ffff:127.0.0.1"));
  CHECK(in("::ffff:192.0.2.0/120", "192.0.2.9"));  // the network itself is IPv4 then
  auto a = IpAddress::parse("::ffff:192.0.2.1");
  REQUIRE(a.is_ok());
  CHECK_FALSE(a->v6);
}

TEST_CASE("host bits are cleared; str() shows the network") {
  auto n = Network::parse("192.0.2.77/24");
  REQUIRE(n.is_ok());
  CHECK(n->str() == "192.0.2.0/24");
  auto m = Network::parse("2001:db8::ff/120");
  REQUIRE(m.is_ok());
  CHECK(m->str() == "2001:db8::/120");
  CHECK(Network::parse("10.1.2.3/0")->str() == "0.0.0.0/0");
}

TEST_CASE("malformed networks are refused") {
  for (const char* bad :
       {"", "/8", "127.0.0.0/", "127.0.0.0/33", "::/129", "127.0.0.0/8x", "127.0.0.0/-1", "localhost",
        "010.0.0.1", "1.2.3", "1.2.3.4/0008", "fe80::1%eth0", "127.0.0.0/8/8", "[127.0.0.1"}) {
    CAPTURE(bad);
    CHECK_FALSE(Network::parse(bad).is_ok());
  }
}

TEST_CASE("NetworkList") {
  auto l = NetworkList::parse({"127.0.0.0/8", "::1/128", "192.0.2.0/24"});
  REQUIRE(l.is_ok());
  CHECK(l->contains("127.1.2.3"));
  CHECK(l->contains("::1"));
  CHECK(l->contains("192.0.2.200"));
  CHECK_FALSE(l->contains("198.51.100.1"));
  CHECK_FALSE(l->contains("not an address"));
  CHECK_FALSE(l->contains(""));
  auto e = NetworkList::parse({});
  REQUIRE(e.is_ok());
  CHECK(e->empty());
  CHECK_FALSE(e->contains("127.0.0.1"));
  auto bad = NetworkList::parse({"127.0.0.0/8", "nonsense"});
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.message().find("nonsense") != std::string::npos);
}

namespace {

bool too_wide(const char* text) {
  auto n = Network::parse(text);
  REQUIRE_MESSAGE(n.is_ok(), n.message());
  return common::net::wider_than_a_site(*n);
}

}  // namespace

TEST_CASE("private and special ranges of any width are a site's own") {
  for (const char* n : {"10.0.0.0/8", "10.1.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                        "100.64.0.0/10", "169.254.0.0/16", "198.18.0.0/15", "192.0.2.0/24", "fc00::/7",
                        "fd12:3456::/32", "fe80::/10", "::1", "2001:db8::/32", "2001:db8:1::/48"})
    CHECK_MESSAGE(!too_wide(n), n);
}

TEST_CASE("public ranges wider than /16 (IPv4) or /32 (IPv6) are not") {
  // 2000::/7 and 2000::/3 cover much of the IPv6 Internet; each passed the old
  // prefix-length-only check (/7 is as wide as fc00::/7).
  for (const char* n :
       {"2000::/7", "2000::/3", "2001::/16", "2a00::/12", "2001:4860::/31", "11.0.0.0/8", "172.0.0.0/8",
        "172.16.0.0/11", "192.0.0.0/15", "8.8.0.0/15", "0.0.0.0/0", "::/0", "fc00::/6"})
    CHECK_MESSAGE(too_wide(n), n);
  for (const char* n : {"8.8.0.0/16", "198.51.0.0/16", "2001:4860::/32", "2001:4860:4860::8888", "8.8.8.8"})
    CHECK_MESSAGE(!too_wide(n), n);
}
