// Unit tests for the socket address of an address literal.
#include "common/net/sockaddr.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <cstring>

using common::net::sockaddr_of;

TEST_CASE("sockaddr_of: IPv4 and IPv6 literals with their port, in network order") {
  auto a = sockaddr_of("192.0.2.7", 25);
  REQUIRE(a);
  CHECK(a->family() == AF_INET);
  CHECK(a->len == sizeof(sockaddr_in));
  auto* in4 = reinterpret_cast<const sockaddr_in*>(a->get());
  CHECK(ntohs(in4->sin_port) == 25);
  CHECK(ntohl(in4->sin_addr.s_addr) == 0xC0000207u);
  a = sockaddr_of("2001:db8::1", 443);
  REQUIRE(a);
  CHECK(a->family() == AF_INET6);
  CHECK(a->len == sizeof(sockaddr_in6));
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->get());
  CHECK(ntohs(in6->sin6_port) == 443);
  CHECK(in6->sin6_addr.s6_addr[0] == 0x20);
  CHECK(in6->sin6_addr.s6_addr[15] == 1);
}

TEST_CASE("sockaddr_of: anything but a bare literal is none") {
  for (const char* bad :
       {"", "mx.example.org", "[2001:db8::1]", "192.0.2.7:25", "192.0.2", " 192.0.2.7", "::g"})
    CHECK_MESSAGE(!sockaddr_of(bad, 25), bad);
}
