// Password hashes on PostgreSQL: the passwords table, which only mailbag_auth (the
// authentication daemon) may read and mailbag_admin (mailctl) write. Never cached: a
// changed password takes effect on every node at the next login (the authentication
// daemon's own cache compares against the hash read each time, auth_cache.hpp).
#pragma once

#include "common/accounts/store.hpp"
#include "common/pg/conn.hpp"

namespace common::pg {

class PgPasswords : public accounts::PasswordStore {
 public:
  explicit PgPasswords(Settings s) : conn_(std::move(s)) {}
  Result<std::optional<std::string>> hash(const std::string& address) override;
  Status set(const std::string& address, const std::string& hash) override;
  Result<bool> remove(const std::string& address) override;

 private:
  Conn conn_;
};

}  // namespace common::pg
