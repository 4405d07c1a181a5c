// Logins for pop3d: which account a login name means (resolve_login), the password check
// on a worker thread so that yescrypt's cost does not stall every other session
// (Verifier), and the per-address failure throttle (LoginThrottle). Passwords are never
// logged, and are wiped from memory after the check.
#pragma once

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

// One worker thread checks credentials; results come back to the event loop through a
// pipe (notify_fd() becomes readable; take_results() collects them).
class Verifier {
 public:
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

  // The check itself, synchronous (used by the worker and by tests).
  AuthResult check(const std::string& user, const std::string& password);

 private:
  void worker();
  std::unique_ptr<common::accounts::Accounts> accounts_;
  std::unique_ptr<common::accounts::Passwords> passwords_;
  std::string mail_directory_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<Done> done_;
  bool stop_ = false;
  std::thread thread_;
  common::io::UniqueFd pipe_r_, pipe_w_;
};

}  // namespace pop3d
