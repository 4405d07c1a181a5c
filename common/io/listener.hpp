// Listening sockets, bound the same way by every network daemon before it drops its
// privileges: each "host:port" of a *_listen key is resolved (numeric port, AI_PASSIVE;
// an empty host means every address) and every address it yields gets a non-blocking,
// close-on-exec socket with SO_REUSEADDR (IPv6 ones IPV6_V6ONLY, so that 0.0.0.0 and
// [::] can both be listed).
#pragma once

#include <string>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace common::io {

constexpr int kListenBacklog = 511;

// Appends one listening socket per address of `spec` to `out`.
[[nodiscard]] common::Status bind_listeners(const std::string& spec, std::vector<UniqueFd>* out,
                                            int backlog = kListenBacklog);

}  // namespace common::io
