// The remote agent's process: the pieces main() calls in its four steps. pre_jail()
// reads the settings (and the relayhost credentials, as root) and the TLS contexts;
// run() connects to the queue manager and delivers until SIGTERM.
#pragma once

#include <string>

#include "common/config/config.hpp"
#include "common/tls/tls.hpp"
#include "delivery/remote/settings.hpp"

namespace delivery::remote {

struct PreJail {
  std::string remote_socket;  // spool/private/remote, where the queue manager listens
  Settings settings;
  common::tls::SslCtxPtr tls_opportunistic;
  common::tls::SslCtxPtr tls_verify;
  common::tls::SslCtxPtr tls_dane;  // smtp_dane: DANE verification (no CA store)
};

PreJail pre_jail(const common::config::Config& cfg);
// Returns a sysexits-style exit code (0 after SIGTERM/SIGINT).
// SIGHUP reloads `cfg` (common/config/reload.hpp) and the settings that may change.
int run(common::config::Config& cfg, PreJail pre);

}  // namespace delivery::remote
