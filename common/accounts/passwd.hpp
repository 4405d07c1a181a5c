// Password hashes (passwd.mdb, LMDB), apart from the rest of the accounts so that only
// the authentication daemon (common/authd, mailbag-auth) can read them; smtpd and pop3d
// ask it. Hashes are
// yescrypt ("$y$...") made and checked by libcrypt (libxcrypt); never our own crypto.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/accounts/store.hpp"
#include "common/lmdb/lmdb.hpp"
#include "common/result.hpp"

namespace common::accounts {

// A fresh yescrypt hash of `password` with a random salt.
Result<std::string> hash_password(std::string_view password);
// Constant-time check of `password` against `hash` (any scheme libcrypt knows).
bool check_password(std::string_view password, const std::string& hash);

class Passwords : public PasswordStore {
 public:
  static Result<std::unique_ptr<Passwords>> open(const std::string& path, bool writable);
  Result<std::optional<std::string>> hash(const std::string& address) override;
  Status set(const std::string& address, const std::string& hash) override;
  Result<bool> remove(const std::string& address) override;

 private:
  explicit Passwords(std::unique_ptr<lmdb::Env> env) : env_(std::move(env)) {}
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi dbi_ = 0;
};

}  // namespace common::accounts
