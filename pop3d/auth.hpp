// Logins for pop3d: which account a login name means (resolve_login), and the password
// check on the worker threads of a bounded common::io::WorkQueue so that yescrypt's cost
// does not stall every other session, with a cache of recent successes (Verifier). The
// per-client failure limit is common/io/client_limits.hpp's, applied by the server.
// Passwords are never logged, and are wiped from memory after the check.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/accounts/auth_cache.hpp"
#include "common/accounts/passwd.hpp"
#include "common/io/work_queue.hpp"
#include "common/result.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

// The account a login name refers to, by the address book's rule for every login
// (common::accounts::AddressBook::login): "user@domain" (case-insensitive), or a bare
// local part when the server has exactly one non-alias domain. nullopt: no such user, a
// disabled one, or a damaged Maildir path (all look the same to the client). The
// Maildir is mail_directory/<user.maildir>.
struct LoginTarget {
  std::string address;
  std::string maildir;
};
common::Result<std::optional<LoginTarget>> resolve_login(common::accounts::Accounts& accounts,
                                                         const std::string& mail_directory,
                                                         std::string_view name);

// kThreads worker threads check credentials (yescrypt is CPU-bound: as many as a small
// machine has cores, and each check takes ~16 MB while it runs); at most kMaxWaiting
// checks wait behind them, and a login beyond that is answered [SYS/TEMP] at once.
// A password that matched the same stored hash less than AuthCache::kTtl ago is accepted
// without yescrypt; the account is looked up every time, so a disabled user is refused.
class Verifier {
 public:
  static constexpr std::size_t kThreads = 2;
  static constexpr std::size_t kMaxWaiting = 256;
  using Done = std::function<void(const AuthResult&)>;

  // The databases are opened by the caller (before the privilege drop) and used only by
  // the workers from then on.
  Verifier(std::unique_ptr<common::accounts::Accounts> accounts,
           std::unique_ptr<common::accounts::Passwords> passwords, std::string mail_directory,
           std::size_t max_waiting = kMaxWaiting);
  common::Status start(event_base* base) { return queue_.start(base); }
  // Checks on a worker; `done` then runs on the loop thread. False (nothing will be
  // called) when kMaxWaiting checks are already waiting. The password is wiped.
  [[nodiscard]] bool submit(const std::string& user, std::string password, Done done);

  // The check itself, synchronous (used by the workers and by tests).
  AuthResult check(const std::string& user, const std::string& password);
  // Checks that needed yescrypt, and checks the cache answered.
  std::uint64_t full_checks() const { return full_checks_; }
  std::uint64_t cached_checks() const { return cached_checks_; }

 private:
  // LMDB lookups, one thread at a time: a reader that finds the map grown by mailctl
  // remaps it (mdb_env_set_mapsize), which must not happen under another reader.
  std::mutex db_mu_;
  std::unique_ptr<common::accounts::Accounts> accounts_;
  std::unique_ptr<common::accounts::Passwords> passwords_;
  std::string mail_directory_;
  std::string dummy_hash_;  // checked for unknown users, so they cost the same time
  common::accounts::AuthCache cache_;
  std::atomic<std::uint64_t> full_checks_{0}, cached_checks_{0};
  common::io::WorkQueue queue_;  // last: its workers use the members above
};

}  // namespace pop3d
