// Per-client-address limits of smtpd, kept in memory by the Server and consulted at
// accept and after each failed AUTH: concurrent sessions per address
// (smtpd_max_sessions_per_client), new connections per address per minute
// (smtpd_max_connect_rate), and failed AUTH attempts (smtpd_auth_failure_limit within
// smtpd_auth_block_time; past it the address is blocked for smtpd_auth_block_time).
// Pure: the caller passes the time (seconds of a monotonic clock), so it is tested
// without waiting. Addresses in relay_networks are exempt (the caller says which), as
// Postfix exempts $mynetworks from its anvil limits.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace smtpd {

class ClientLimits {
 public:
  struct Settings {
    std::int64_t max_sessions = 50;   // per address, concurrent
    std::int64_t connect_rate = 120;  // per address per minute; 0: no limit
    std::int64_t auth_failures = 10;  // within block_time, then blocked
    std::int64_t block_time = 600;    // seconds
  };
  enum class Verdict { kOk, kTooManySessions, kRate, kBlocked };

  explicit ClientLimits(Settings s) : s_(s) {}

  // A new connection from `ip`. Every attempt counts toward the rate, refused or not.
  // kOk means the session is counted as open: call closed(ip) when it ends.
  Verdict connect(const std::string& ip, double now, bool exempt);
  void closed(const std::string& ip);

  // A failed AUTH from `ip`: how long to hold the 535 reply (1, 2, 4, then 8 seconds as
  // failures from the address pile up), and whether the address is now blocked.
  struct Failure {
    double delay = 0;
    bool blocked = false;
  };
  Failure auth_failed(const std::string& ip, double now, bool exempt);
  bool blocked(const std::string& ip, double now) const;

  // Forgets what no longer matters (closed, quiet, unblocked addresses). The Server
  // calls it periodically so the table cannot grow without bound.
  void prune(double now);
  std::size_t size() const { return table_.size(); }

 private:
  struct Entry {
    std::int64_t sessions = 0;
    double rate_start = 0;  // start of the current one-minute window
    std::int64_t rate_count = 0;
    std::deque<double> failures;  // times of recent AUTH failures, oldest first
    double blocked_until = 0;
  };
  void expire_failures(Entry& e, double now) const;

  Settings s_;
  std::unordered_map<std::string, Entry> table_;
};

}  // namespace smtpd
