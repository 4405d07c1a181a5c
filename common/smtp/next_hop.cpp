// Implementation of the next-hop syntax (see next_hop.hpp).
#include "common/smtp/next_hop.hpp"

#include <arpa/inet.h>

#include "common/mail/ascii.hpp"

namespace common::smtp {
namespace {

bool ip4(const std::string& s) {
  unsigned char b[4];
  return inet_pton(AF_INET, s.c_str(), b) == 1;
}
bool ip6(const std::string& s) {
  unsigned char b[16];
  return inet_pton(AF_INET6, s.c_str(), b) == 1;
}

// LDH host name (RFC 1123 2.1), without a trailing dot.
bool host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok || (c == '-' && label == 0) || ++label > 63) return false;
    }
    prev = c;
  }
  return prev != '-';
}

}  // namespace

std::string NextHop::str() const {
  bool bracket = !mx_lookup && !is_ip;
  std::string h = host.find(':') != std::string::npos || bracket ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<NextHop> parse_next_hop(std::string_view text) {
  NextHop hop;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return Status::error("missing ']'");
    hop.host = std::string(text.substr(1, close - 1));
    hop.mx_lookup = false;
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    hop.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':') return Status::error("expected ':' and a port after the host");
    std::string_view p = rest.substr(1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos)
      return Status::error("bad port");
    int port = std::stoi(std::string(p));
    if (port < 1 || port > 65535) return Status::error("port out of range 1..65535");
    hop.port = static_cast<std::uint16_t>(port);
  }
  hop.host = common::mail::lower(hop.host);
  if (ip4(hop.host) || (!hop.mx_lookup && ip6(hop.host))) {
    hop.is_ip = true;
    hop.mx_lookup = false;
    return hop;
  }
  if (!host_name(hop.host)) return Status::error("not a host name or IP address: " + hop.host);
  return hop;
}

}  // namespace common::smtp
