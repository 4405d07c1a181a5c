// The DKIM signer's process: before the privilege drop it binds spool/signer/sign
// (mode 0660, group of the remote agent's user) and learns the users it checks; after
// it, one event loop serves the remote agent's Sign requests, one at a time per
// connection (signing takes a millisecond; reading a large message is the only wait).
#pragma once

#include <sys/types.h>

#include "common/config/config.hpp"
#include "common/io/unique_fd.hpp"
#include "delivery/dkim/request.hpp"

namespace delivery::dkim {

struct PreJail {
  common::io::UniqueFd listener;
  long peer_uid = -1;  // the remote agent's uid when running as root, else -1 (unchecked)
  Policy policy;
};

PreJail pre_jail(const common::config::Config& cfg);
// SIGHUP reloads `cfg` (common/config/reload.hpp), relay_networks and the keys.
int run(common::config::Config& cfg, PreJail pre);

}  // namespace delivery::dkim
