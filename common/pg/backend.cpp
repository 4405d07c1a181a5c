// Implementation of the backend choice (see backend.hpp).
#include "common/pg/backend.hpp"

#include <optional>

#include "common/accounts/accounts.hpp"
#include "common/accounts/passwd.hpp"
#include "common/pg/password_file.hpp"
#include "common/pg/pg_accounts.hpp"
#include "common/pg/pg_passwords.hpp"
#include "common/pg/pg_relay.hpp"
#include "common/spool/layout.hpp"

namespace common::pg {
namespace {

// The settings prepare() made: one program per process, read once as root.
std::optional<Settings>& prepared() {
  static std::optional<Settings> s;
  return s;
}

Result<Settings> settings(const config::Config& cfg) {
  if (!prepared()) return Status::error("PostgreSQL settings not prepared (internal error)");
  Settings s = *prepared();
  s.conninfo = cfg.postgresql_conninfo;
  s.timeout_ms = static_cast<int>(cfg.postgresql_timeout * 1000);
  return s;
}

}  // namespace

bool enabled(const config::Config& cfg) {
  return cfg.accounts_backend == config::AccountsBackend::kPostgresql;
}

Status prepare(const config::Config& cfg, const std::string& program) {
  if (!enabled(cfg)) return Status::ok();
  Settings s;
  s.program = program;
  s.role = role_for(program);
  if (!cfg.postgresql_password_file.empty()) {
    auto p = read_password_file(cfg.postgresql_password_file, s.role);
    if (!p) return p.status();
    s.password = std::move(*p);
  }
  prepared() = std::move(s);
  return Status::ok();
}

Result<std::unique_ptr<accounts::Store>> open_accounts(const config::Config& cfg, bool writable) {
  if (!enabled(cfg)) {
    auto a = accounts::Accounts::open(spool::Layout(cfg).accounts_db(), writable);
    if (!a) return a.status();
    return std::unique_ptr<accounts::Store>(std::move(*a));
  }
  auto s = settings(cfg);
  if (!s) return s.status();
  return std::unique_ptr<accounts::Store>(
      std::make_unique<PgAccounts>(std::move(*s), std::chrono::seconds(cfg.postgresql_cache_ttl)));
}

Result<std::unique_ptr<accounts::PasswordStore>> open_passwords(const config::Config& cfg, bool writable) {
  if (!enabled(cfg)) {
    auto p = accounts::Passwords::open(spool::Layout(cfg).passwd_db(), writable);
    if (!p) return p.status();
    return std::unique_ptr<accounts::PasswordStore>(std::move(*p));
  }
  auto s = settings(cfg);
  if (!s) return s.status();
  return std::unique_ptr<accounts::PasswordStore>(std::make_unique<PgPasswords>(std::move(*s)));
}

Result<std::unique_ptr<relaydb::RelayStore>> open_relay(const config::Config& cfg,
                                                        const std::string& lmdb_path,
                                                        relaydb::RelayDb::Mode mode) {
  if (!enabled(cfg)) {
    auto r = relaydb::RelayDb::open(lmdb_path, mode);
    if (!r) return r.status();
    return std::unique_ptr<relaydb::RelayStore>(std::move(*r));
  }
  auto s = settings(cfg);
  if (!s) return s.status();
  return std::unique_ptr<relaydb::RelayStore>(std::make_unique<PgRelay>(std::move(*s)));
}

}  // namespace common::pg
