// pop3d's process: the pieces main() calls in its four steps. pre_jail() binds the POP3
// and POP3S ports, loads the TLS key and opens the databases while still privileged;
// run() serves every session from one libevent loop until SIGTERM.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/accounts/passwd.hpp"
#include "common/config/config.hpp"
#include "common/io/unique_fd.hpp"
#include "common/relaydb/relaydb.hpp"
#include "common/tls/tls.hpp"

namespace pop3d {

struct Listener {
  common::io::UniqueFd fd;
  bool implicit_tls = false;
  std::string where;  // host:port, for the log
};

struct PreJail {
  std::vector<Listener> listeners;
  common::tls::SslCtxPtr tls;  // null: no certificate configured, no STLS or POP3S
  std::unique_ptr<common::accounts::Accounts> accounts;
  std::unique_ptr<common::accounts::Passwords> passwords;
  std::unique_ptr<common::relaydb::RelayDb> relay;  // null unless pop_before_smtp
};

// As root: the TLS key and the listeners. Exits with a message (EX_CONFIG, EX_OSERR) if
// something is missing.
PreJail pre_jail(const common::config::Config& cfg);
// After the privilege drop, as mb-pop3d: accounts.mdb, passwd.mdb and (pop_before_smtp)
// relay.mdb, whose lock files the daemons can write, so root never opens them. Exits
// with EX_UNAVAILABLE if one cannot be opened.
void open_databases(const common::config::Config& cfg, PreJail* pre);
// Returns a sysexits-style exit code (0 after SIGTERM/SIGINT).
int run(const common::config::Config& cfg, PreJail pre);

}  // namespace pop3d
