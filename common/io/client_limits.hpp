// Per-client limits of the network daemons (smtpd, pop3d), kept in memory and consulted
// at accept and around each password check: concurrent sessions per client, new
// connections per client per minute, and failed logins (auth_failures within block_time;
// past it the client is blocked for block_time, in the sessions it already has open as
// well as in new ones). Once a client has failed, an attempt counts from the moment its
// check starts, so parallel sessions cannot run more checks than the limit allows. A client is its IPv4
// address, or its IPv6 network of ipv6_prefix bits (one host usually owns a whole /64). Pure: the caller
// passes the time (seconds of a monotonic clock), so it is tested without waiting. Exempt clients
// (relay_networks in smtpd, as Postfix exempts $mynetworks from its anvil limits) are counted but never
// refused or blocked.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace common::io {

class ClientLimits {
 public:
  struct Settings {
    std::int64_t max_sessions = 50;   // per client, concurrent
    std::int64_t connect_rate = 120;  // per client per minute; 0: no limit
    std::int64_t auth_failures = 10;  // within block_time, then blocked
    std::int64_t block_time = 600;    // seconds
    int ipv6_prefix = 64;             // bits of an IPv6 address that name the client
    bool block_connections = true;    // a blocked client's new connections are refused too
  };
  enum class Verdict { kOk, kTooManySessions, kRate, kBlocked };

  explicit ClientLimits(Settings s) : s_(s) {}
  // New limits (a reload) for what comes next; the counts so far stay. The IPv6 prefix
  // names the table's entries, so it stays as it was.
  void set_settings(Settings s) {
    s.ipv6_prefix = s_.ipv6_prefix;
    s_ = s;
  }

  // The table key of `ip`: an IPv4 address as it is, an IPv6 one as its network
  // ("2001:db8:1:2::/64"); anything unparsable as it is.
  std::string key(const std::string& ip) const;

  // A new connection from `ip`. Every attempt counts toward the rate, refused or not.
  // kOk means the session is counted as open: call closed(ip) when it ends.
  Verdict connect(const std::string& ip, double now, bool exempt);
  void closed(const std::string& ip);

  // A password check for `ip` is about to start. kOk: it counts against the limit from
  // now on; call auth_finished() with its result. kBlocked: refuse it without checking
  // (the client is blocked, or as many checks as the limit allows are already running).
  Verdict auth_started(const std::string& ip, double now, bool exempt);
  // The check's result: how long to hold a failure's reply (1, 2, 4, then 8 seconds as
  // failures pile up), and whether the client is now blocked.
  struct Failure {
    double delay = 0;
    bool blocked = false;
  };
  Failure auth_finished(const std::string& ip, double now, bool exempt, bool ok);
  bool blocked(const std::string& ip, double now) const;

  // Forgets what no longer matters (closed, quiet, unblocked clients). The daemon calls
  // it periodically so the table cannot grow without bound.
  void prune(double now);
  std::size_t size() const { return table_.size(); }

 private:
  struct Entry {
    std::int64_t sessions = 0;
    double rate_start = 0;  // start of the current one-minute window
    std::int64_t rate_count = 0;
    std::deque<double> failures;  // times of recent failures, oldest first
    std::int64_t checking = 0;    // checks started and not finished
    double blocked_until = 0;
  };
  void expire_failures(Entry& e, double now) const;

  Settings s_;
  std::unordered_map<std::string, Entry> table_;
};

}  // namespace common::io
