// Successful password checks, remembered for a while (like Dovecot's auth_cache), in the
// authentication daemon (common/authd), the one process that holds the hashes: pop3d's
// clients log in every few minutes with the same password and smtpd's submission clients
// for every message. A hit costs one HMAC-SHA256 instead of a yescrypt check (~16 ms).
//
// An entry is keyed by the account and holds an HMAC-SHA256, under a random key made at
// start, of the stored hash and the password: a changed password, or a new hash for the
// same password (mailctl user passwd), misses. The caller looks the account up before
// each check, so a disabled or deleted account is refused at once. Only successes are
// remembered; a wrong password always pays the full check. An entry lives kTtl after its
// last use; at most kMaxEntries are kept. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace common::accounts {

class AuthCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kTtl{300};
  static constexpr std::size_t kMaxEntries = 10000;

  // What a check is remembered by: the account and the digest of (hash, password). Holds
  // no password.
  struct Ticket {
    std::string user;
    std::array<unsigned char, 32> digest{};
  };

  AuthCache();
  AuthCache(const AuthCache&) = delete;
  AuthCache& operator=(const AuthCache&) = delete;

  Ticket ticket(const std::string& user, std::string_view hash, std::string_view password) const;
  // True when this ticket was remembered less than kTtl ago (then it counts as used now).
  bool check(const Ticket& t, Clock::time_point now = Clock::now());
  // After a successful full check.
  void remember(const Ticket& t, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Entry {
    std::array<unsigned char, 32> digest{};
    Clock::time_point expires;
  };
  unsigned char key_[32];
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace common::accounts
