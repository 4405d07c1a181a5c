// Implementation of the socket address of an address literal (see sockaddr.hpp).
#include "common/net/sockaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace common::net {

std::optional<SockAddr> sockaddr_of(const std::string& ip, std::uint16_t port) {
  SockAddr a;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (inet_pton(AF_INET, ip.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    a.len = sizeof *a4;
    return a;
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    a.len = sizeof *a6;
    return a;
  }
  return std::nullopt;
}

}  // namespace common::net
