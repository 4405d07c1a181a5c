// CIDR networks and address matching (see cidr.hpp). Addresses are parsed by
// inet_pton only, so "010.1.1.1", host names and zone ids are refused.
#include "common/net/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "common/check.hpp"
#include "common/log/log.hpp"

namespace common::net {
namespace {

Status bad(std::string_view what, std::string_view text) {
  return Status::error(std::string(what) + " '" + log::printable(text, 80) + "'");
}

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() > INET6_ADDRSTRLEN || s.find('\0') != std::string::npos)
    return bad("invalid IP address", text);
  IpAddress a;
  in_addr a4;
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    std::memcpy(a.bytes.data(), &a4, 4);
    return a;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      std::memcpy(a.bytes.data(), &a6.s6_addr[12], 4);
      return a;
    }
    a.v6 = true;
    std::memcpy(a.bytes.data(), &a6, 16);
    return a;
  }
  return bad("invalid IP address", text);
}

Result<Network> Network::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return bad("invalid network", text);
  Network n;
  n.base = *addr;
  // An IPv4-mapped network (::ffff:192.0.2.0/120) is the IPv4 network it maps.
  bool mapped = !n.base.v6 && text.substr(0, slash).find(':') != std::string_view::npos;
  int max = n.base.v6 || mapped ? 128 : 32;
  n.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3) return bad("invalid prefix length in", text);
    int v = 0;
    for (char c : len) {
      if (c < '0' || c > '9') return bad("invalid prefix length in", text);
      v = v * 10 + (c - '0');
    }
    if (v > max) return bad("prefix length too large in", text);
    n.prefix = v;
  }
  if (mapped) {
    if (n.prefix < 96) return bad("prefix length too small for an IPv4-mapped network in", text);
    n.prefix -= 96;
  }
  // Clear the host bits.
  for (int i = 0; i < 16; ++i) {
    int keep = n.prefix - i * 8;
    if (keep >= 8) continue;
    n.base.bytes[i] = keep <= 0 ? 0 : static_cast<std::uint8_t>(n.base.bytes[i] & (0xff << (8 - keep)));
  }
  return n;
}

bool Network::contains(const IpAddress& a) const {
  if (a.v6 != base.v6) return false;
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == base.bytes[full];
}

std::string Network::str() const {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(base.v6 ? AF_INET6 : AF_INET, base.bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

bool is_private(const Network& n) {
  static const char* const kRanges[] = {
      "10.0.0.0/8",     "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",     "100.64.0.0/10",
      "169.254.0.0/16", "198.18.0.0/15", "192.0.2.0/24",   "198.51.100.0/24", "203.0.113.0/24",
      "fc00::/7",       "fe80::/10",     "::1/128",        "2001:db8::/32",
  };
  for (const char* r : kRanges) {
    auto outer = Network::parse(r);
    MB_CHECK(outer.is_ok(), r);
    if (outer->base.v6 == n.base.v6 && n.prefix >= outer->prefix && outer->contains(n.base)) return true;
  }
  return false;
}

bool wider_than_a_site(const Network& n) {
  return !is_private(n) && n.prefix < (n.base.v6 ? kWidestSiteV6 : kWidestSiteV4);
}

Result<NetworkList> NetworkList::parse(const std::vector<std::string>& items) {
  NetworkList l;
  for (const auto& item : items) {
    auto n = Network::parse(item);
    if (!n) return n.status();
    l.nets_.push_back(*n);
  }
  return l;
}

bool NetworkList::contains(const IpAddress& a) const {
  for (const auto& n : nets_)
    if (n.contains(a)) return true;
  return false;
}

bool NetworkList::contains(std::string_view address) const {
  auto a = IpAddress::parse(address);
  return a && contains(*a);
}

}  // namespace common::net
