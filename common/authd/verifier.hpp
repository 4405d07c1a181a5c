// The authentication daemon's decision: which account a login name means (the address
// book's rule for every login, common::accounts::AddressBook::login), and whether the
// password matches its yescrypt hash, on the worker threads of a bounded
// common::io::WorkQueue so that yescrypt's cost does not stall the daemon's loop. A
// password that matched the same stored hash less than AuthCache::kTtl ago is accepted
// without yescrypt (the cache lives here, with the hashes, and nowhere else); the account
// is looked up every time, so a disabled or deleted user is refused at once.
// Passwords are never logged, and are wiped from memory after the check.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/accounts/address_book.hpp"
#include "common/accounts/auth_cache.hpp"
#include "common/accounts/passwd.hpp"
#include "common/io/work_queue.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace authd {

// The account a login name refers to: "user@domain" (case-insensitive), or a bare local
// part when the server has exactly one non-alias domain. nullopt: no such user, a
// disabled one, or a damaged Maildir path (all look the same to the client). The Maildir
// is mail_directory/<user.maildir>.
struct LoginTarget {
  std::string address;
  std::string maildir;
};
common::Result<std::optional<LoginTarget>> resolve_login(common::accounts::Lookup& accounts,
                                                         const std::string& mail_directory,
                                                         std::string_view name);

struct Outcome {
  common::ipc::AuthResult result = common::ipc::AuthResult::kTempFail;
  std::string account;
  std::string maildir;
};

// `threads` workers check credentials (yescrypt is CPU-bound, ~16 MB and tens of
// milliseconds each); at most `max_waiting` checks wait behind them, and a check beyond
// that is refused (the caller answers a temporary failure at once).
class Verifier {
 public:
  static constexpr std::size_t kThreads = 2;
  static constexpr std::size_t kMaxWaiting = 256;
  using Done = std::function<void(const Outcome&)>;

  // The databases are opened by the caller and used only under db_mu_ from then on.
  Verifier(std::unique_ptr<common::accounts::Lookup> accounts,
           std::unique_ptr<common::accounts::PasswordStore> passwords, std::string mail_directory,
           std::size_t threads = kThreads, std::size_t max_waiting = kMaxWaiting,
           std::chrono::milliseconds db_timeout = std::chrono::seconds(5));
  common::Status start(event_base* base) { return queue_.start(base); }
  // Checks on a worker; `done` then runs on the loop thread. False (nothing will be
  // called) when max_waiting checks are already waiting. The password is wiped.
  [[nodiscard]] bool submit(const std::string& login, std::string password, Done done);

  // The check itself, synchronous (used by the workers and by tests).
  Outcome check(const std::string& login, const std::string& password);
  // Checks that needed yescrypt, and checks the cache answered.
  std::uint64_t full_checks() const { return full_checks_; }
  std::uint64_t cached_checks() const { return cached_checks_; }
  std::size_t waiting() const { return queue_.waiting(); }

 private:
  // LMDB lookups, one thread at a time: a reader that finds the map grown by mailctl
  // remaps it (mdb_env_set_mapsize), which must not happen under another reader.
  std::mutex db_mu_;
  std::unique_ptr<common::accounts::Lookup> accounts_;
  std::unique_ptr<common::accounts::PasswordStore> passwords_;
  std::string mail_directory_;
  std::string dummy_hash_;
  // A check's database lookups end by this long after it was queued (common/pg/deadline.hpp),
  // so that a hung database answers a temporary failure in time.
  std::chrono::milliseconds db_timeout_;  // checked for unknown users, so they cost the same time
  common::accounts::AuthCache cache_;
  std::atomic<std::uint64_t> full_checks_{0}, cached_checks_{0};
  common::io::WorkQueue queue_;  // last: its workers use the members above
};

}  // namespace authd
