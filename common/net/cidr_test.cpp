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
