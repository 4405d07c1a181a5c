// The local agent's process: the pieces main() calls in its four steps. pre_jail() does
// what must happen before the privilege drop; run() connects to the queue manager and
// delivers each loop turn's requests as one group commit until SIGTERM.
#pragma once

#include <string>

#include "common/config/config.hpp"

namespace delivery::local {

struct PreJail {
  std::string local_socket;   // spool/private/local, where the queue manager listens
  std::string accounts_db;    // data_directory/accounts.mdb
  std::string mail_directory;
  std::string hostname;
};

PreJail pre_jail(const common::config::Config& cfg);
// Returns a sysexits-style exit code (0 after SIGTERM/SIGINT).
int run(const common::config::Config& cfg, PreJail pre);

}  // namespace delivery::local
