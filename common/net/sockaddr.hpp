// An address literal and a port as the socket address connect(2) takes: the one place
// that fills a sockaddr_in or sockaddr_in6 (the remote agent's SMTP and HTTPS
// connections, mailctl's ETRN and HTTPS). Pure; tested in sockaddr_test.cpp.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace common::net {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

// `ip` is an IPv4 or IPv6 address in text (no brackets, no port); none otherwise.
std::optional<SockAddr> sockaddr_of(const std::string& ip, std::uint16_t port);

}  // namespace common::net
