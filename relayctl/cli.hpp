// relayctl's commands, kept apart from main() so the tests can run them against a
// temporary database with a chosen clock: vsmtprelay's interface over the
// relay database (common/relaydb), plus `load` of `dump` output.
//   add ip [ticks] | delete ip [...] | expire [n] | list [n] | dump | load [-m] FILE|-
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/relaydb/relaydb.hpp"
#include "common/result.hpp"

namespace relayctl {

// Exit statuses, documented in relayctl(8).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;  // delete: an address was not in the database
inline constexpr int kExitUsage = 2;     // bad usage or input; the database is unchanged
inline constexpr int kExitError = 3;     // configuration, database or system error

struct Context {
  std::string db_path;        // data_directory/relay.mdb
  std::int64_t now = 0;       // UNIX seconds
  std::int64_t lifetime = 0;  // relay_lifetime in seconds (expire's default)
  // Called once, after the arguments (and a load file) are read and before the database
  // is opened: as root, becomes relay.mdb's owner for good (the lock file is shared with
  // the daemons, so root never opens it). Empty: nothing to do.
  std::function<common::Status()> become_owner;
  // Set when the relay database is not that file (accounts_backend = postgresql): opens
  // the store instead of db_path (become_owner is then not called).
  std::function<common::Result<std::unique_ptr<common::relaydb::RelayStore>>()> open_store;
};

struct Output {
  std::string out;  // for stdout
  std::string err;  // for stderr, one "relayctl: ..." line per problem
};

std::string usage();

// Reads standard input for `load -`.
using StdinReader = std::function<common::Result<std::string>()>;

// Runs one command (args without the program name and options); returns the exit status.
// Every argument is checked before the database is touched.
int run(const std::vector<std::string>& args, const Context& ctx, Output& o, const StdinReader& read_stdin);

}  // namespace relayctl
