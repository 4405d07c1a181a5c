// The local agent's process: the pieces main() calls in its four steps. pre_jail() does
// what must happen before the privilege drop (the drop directory, the SRS secret);
// run() connects to the queue manager, delivers each loop turn's requests as one group
// commit until SIGTERM, and re-checks the "mailbox full" flags every minute.
#pragma once

#include <string>

#include "common/config/config.hpp"
#include "common/io/unique_fd.hpp"

namespace delivery::local {

struct PreJail {
  std::string local_socket;          // spool/private/local, where the queue manager listens
  std::string submit_socket;         // spool/private/submit, for the messages local sends
  std::string incoming;              // spool/incoming, the drop directory
  common::io::UniqueFd incoming_fd;  // opened O_PATH before the drop (may be invalid)
  std::string accounts_db;           // data_directory/accounts.mdb
  std::string quota_flags;           // data_directory/quota
  std::string mail_directory;
  std::string hostname;    // cfg.hostname, else the system's name
  std::string srs_secret;  // data_directory/srs.secret ("" when missing)
};

PreJail pre_jail(const common::config::Config& cfg);
// Returns a sysexits-style exit code (0 after SIGTERM/SIGINT).
// SIGHUP reloads `cfg` (common/config/reload.hpp).
int run(common::config::Config& cfg, PreJail pre);

}  // namespace delivery::local
