// Which accounts backend this installation has (accounts_backend): opens the accounts
// store, the password hashes and the relay database on LMDB (the files in
// data_directory) or on the shared PostgreSQL database, so that no daemon and no tool
// knows which one it has. prepare() runs as root before the privilege drop: it reads
// the program's database password (postgresql_password_file is root's alone).
#pragma once

#include <memory>
#include <string>

#include "common/accounts/store.hpp"
#include "common/config/config.hpp"
#include "common/relaydb/relaydb.hpp"

namespace common::pg {

bool enabled(const config::Config& cfg);
// Called once by each program, as root, before dropping privileges. A no-op for LMDB.
Status prepare(const config::Config& cfg, const std::string& program);

// The accounts store: LMDB's accounts.mdb (read-only unless `writable`), or PostgreSQL
// (which connects on first use and re-connects by itself: opening never fails then).
Result<std::unique_ptr<accounts::Store>> open_accounts(const config::Config& cfg, bool writable);
Result<std::unique_ptr<accounts::PasswordStore>> open_passwords(const config::Config& cfg, bool writable);
// The relay database at `lmdb_path` (when on LMDB) with `mode`.
Result<std::unique_ptr<relaydb::RelayStore>> open_relay(const config::Config& cfg,
                                                        const std::string& lmdb_path,
                                                        relaydb::RelayDb::Mode mode);

}  // namespace common::pg
