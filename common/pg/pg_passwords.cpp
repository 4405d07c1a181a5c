// Implementation of the PostgreSQL password store (see pg_passwords.hpp).
#include "common/pg/pg_passwords.hpp"

namespace common::pg {

Result<std::optional<std::string>> PgPasswords::hash(const std::string& address) {
  auto rows = conn_.query("SELECT hash FROM passwords WHERE address = $1", {address});
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  if (rows->size() != 1 || rows->front().size() != 1 || !rows->front()[0])
    return Status::error("PostgreSQL: bad row in passwords for '" + address + "'");
  return std::optional<std::string>(*rows->front()[0]);
}

Status PgPasswords::set(const std::string& address, const std::string& hash) {
  return conn_.exec(
      "INSERT INTO passwords (address, hash) VALUES ($1, $2) ON CONFLICT (address) DO UPDATE SET hash = "
      "EXCLUDED.hash",
      {address, hash});
}

Result<bool> PgPasswords::remove(const std::string& address) {
  auto rows = conn_.query("DELETE FROM passwords WHERE address = $1 RETURNING 1", {address});
  if (!rows) return rows.status();
  return !rows->empty();
}

}  // namespace common::pg
