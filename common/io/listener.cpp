// Binding the listening sockets (see listener.hpp).
#include "common/io/listener.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/config/config.hpp"

namespace common::io {

using common::Status;

Status bind_listeners(const std::string& spec, std::vector<UniqueFd>* out, int backlog) {
  auto hp = common::config::parse_host_port(spec);
  if (!hp) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  std::string port = std::to_string(hp->port);
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::error("listen address " + spec + ": " + gai_strerror(rc));
  Status st;
  std::size_t bound = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      st = Status::sys("socket for " + spec);
      break;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
      st = Status::sys("bind " + spec);
      break;
    }
    if (::listen(fd.get(), backlog) < 0) {
      st = Status::sys("listen " + spec);
      break;
    }
    out->push_back(std::move(fd));
    ++bound;
  }
  freeaddrinfo(res);
  if (st.is_ok() && bound == 0) return Status::error("listen address " + spec + ": no address");
  return st;
}

}  // namespace common::io
