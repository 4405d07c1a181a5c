// IP networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32", a bare address for one
// host) and lists of them, as the config keys relay_networks and etrn_networks hold.
// The one place that decides whether a client address is inside a network: smtpd's
// relay and ETRN policy and its limit exemptions use it, the config check parses with it.
// An IPv4-mapped IPv6 address (::ffff:192.0.2.1) matches as the IPv4 address it is.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::net {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4

  // "192.0.2.1", "2001:db8::1", "[2001:db8::1]"; IPv4-mapped IPv6 becomes IPv4.
  static Result<IpAddress> parse(std::string_view text);
};

struct Network {
  IpAddress base;  // host bits cleared
  int prefix = 0;  // 0..32 or 0..128

  // "addr/len" or a bare "addr" (one host). Host bits beyond the prefix are ignored
  // ("192.0.2.7/24" is 192.0.2.0/24), as in Postfix's mynetworks.
  static Result<Network> parse(std::string_view text);
  bool contains(const IpAddress& a) const;
  std::string str() const;
};

// Address space that belongs to no one site on the Internet: private (RFC 1918, RFC 4193
// unique local), loopback, link-local, shared (RFC 6598), benchmarking (RFC 2544) and
// documentation ranges (RFC 5737, RFC 3849). True if `n` lies wholly inside one of them.
bool is_private(const Network& n);
// The widest public network a site plausibly holds: an IPv4 /16, an IPv6 /32 (what a
// registry allocates to a whole provider). relay_networks refuses wider public ranges
// unless the administrator confirms them.
inline constexpr int kWidestSiteV4 = 16;
inline constexpr int kWidestSiteV6 = 32;
// !is_private(n) and shorter than the widest site prefix of its family.
bool wider_than_a_site(const Network& n);

class NetworkList {
 public:
  NetworkList() = default;
  // Each item as Network::parse; the first bad one is the error.
  static Result<NetworkList> parse(const std::vector<std::string>& items);
  bool contains(const IpAddress& a) const;
  // An unparsable address is in no list.
  bool contains(std::string_view address) const;
  bool empty() const { return nets_.empty(); }
  const std::vector<Network>& networks() const { return nets_; }

 private:
  std::vector<Network> nets_;
};

}  // namespace common::net
