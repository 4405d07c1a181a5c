// Logins for pop3d: which account a login name means (resolve_login), the password check
// on worker threads so that yescrypt's cost does not stall every other session, with a
// cache of recent successes (Verifier), and the per-address failure throttle
// (LoginThrottle). Passwords are never logged, and are wiped from memory after the check.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/accounts/auth_cache.hpp"
#include "common/accounts/passwd.hpp"
#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

// The account a login name refers to: "user@domain" (case-insensitive), or a bare local
// part when the server has exactly one domain (the seed's "bob" for bob@yourcompany.com).
// nullopt: no such user, a disabled one, or a damaged Maildir path (all look the same to
// the client). The Maildir is mail_directory/<user.maildir>.
struct LoginTarget {
  std::string address;
  std::string maildir;
};
common::Result<std::optional<LoginTarget>> resolve_login(common::accounts::Accounts& accounts,
                                                         const std::string& mail_directory,
                                                         std::string_view name);

// Per-client-address failure accounting (time in seconds of any monotonic clock).
// Each failure's reply is delayed (1 s for the first three failures within the window,
// then 2 s); kMaxFailures failures within kWindow refuse every login from that address
// until the oldest of them leaves the window.
class LoginThrottle {
 public:
  static constexpr int kMaxFailures = 10;
  static constexpr double kWindow = 600;
  void record_failure(const std::string& addr, double now);
  bool blocked(const std::string& addr, double now);
  double delay(const std::string& addr, double now);

 private:
  void prune(const std::string& addr, double now);
  std::map<std::string, std::deque<double>> failures_;
};

// kThreads worker threads check credentials (yescrypt is CPU-bound: as many as a small
// machine has cores, and each check takes ~16 MB while it runs); results come back to the
// event loop through a pipe (notify_fd() becomes readable; take_results() collects them).
// A password that matched the same stored hash less than AuthCache::kTtl ago is accepted
// without yescrypt; the account is looked up every time, so a disabled user is refused.
class Verifier {
 public:
  static constexpr std::size_t kThreads = 2;
  struct Job {
    std::uint64_t conn_id = 0;
    std::string user;
    std::string password;
  };
  struct Done {
    std::uint64_t conn_id = 0;
    AuthResult result;
  };

  // The databases are opened by the caller (before the privilege drop) and used only by
  // the worker from then on.
  Verifier(std::unique_ptr<common::accounts::Accounts> accounts,
           std::unique_ptr<common::accounts::Passwords> passwords, std::string mail_directory);
  ~Verifier();
  common::Status start();
  void submit(Job job);
  int notify_fd() const { return pipe_r_.get(); }
  std::vector<Done> take_results();

  // The check itself, synchronous (used by the workers and by tests).
  AuthResult check(const std::string& user, const std::string& password);
  // Checks that needed yescrypt, and checks the cache answered.
  std::uint64_t full_checks() const { return full_checks_; }
  std::uint64_t cached_checks() const { return cached_checks_; }

 private:
  void worker();
  // LMDB lookups, one thread at a time: a reader that finds the map grown by mailctl
  // remaps it (mdb_env_set_mapsize), which must not happen under another reader.
  std::mutex db_mu_;
  std::unique_ptr<common::accounts::Accounts> accounts_;
  std::unique_ptr<common::accounts::Passwords> passwords_;
  std::string mail_directory_;
  std::string dummy_hash_;  // checked for unknown users, so they cost the same time
  common::accounts::AuthCache cache_;
  std::atomic<std::uint64_t> full_checks_{0}, cached_checks_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<Done> done_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
  common::io::UniqueFd pipe_r_, pipe_w_;
};

}  // namespace pop3d
