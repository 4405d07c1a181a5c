// Where to send mail or an ETRN, as an administrator writes it in mailbag.conf
// (relayhost, etrn_hosts) or on the command line (mailctl etrn), in Postfix's syntax:
//   host, host:port          MX lookup of `host` (unless it is an IP address)
//   [host], [host]:port      no MX lookup: the host itself (or an IPv4/IPv6 literal)
// The port defaults to 25.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::smtp {

struct NextHop {
  std::string host;  // lower case; an IP address without brackets
  std::uint16_t port = 25;
  bool mx_lookup = true;  // false for [host] and for IP addresses
  bool is_ip = false;
  // "host:port" / "[host]:port" as it was meant, for logs.
  std::string str() const;
};

Result<NextHop> parse_next_hop(std::string_view text);

}  // namespace common::smtp
