// One-time login tokens, the authentication daemon's answer to "may this process open
// that mailbox?". When a POP3 password checks out, the daemon issues a random token bound
// to the account; pop3d (which parses the network and holds no Maildir access) hands it
// with the client to the mailbox process, which redeems it here before it opens the
// Maildir. A login process that was taken over cannot open a mailbox whose password it
// never saw: it has no token for it. Pure (the clock is a parameter), so the rules are
// tested without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace authd {

class LoginTokens {
 public:
  // A token is good for this long after its login: the handover is one local round trip.
  static constexpr double kTtlSeconds = 30;
  // Tokens alive at once; past this the oldest is forgotten (its login then fails
  // temporarily), so a peer that logs in without ever redeeming cannot grow the daemon.
  static constexpr std::size_t kMaxTokens = 4096;
  // 32 random bytes, hex.
  static constexpr std::size_t kTokenSize = 64;

  explicit LoginTokens(double ttl = kTtlSeconds, std::size_t max_tokens = kMaxTokens)
      : ttl_(ttl), max_(max_tokens) {}

  // A new token for `account` (whose Maildir is `maildir`), issued at `now` (monotonic
  // seconds).
  std::string issue(const std::string& account, const std::string& maildir, double now);

  enum class Verdict { kOk, kUnknown, kExpired, kWrongAccount };
  struct Redeemed {
    Verdict verdict = Verdict::kUnknown;
    std::string maildir;  // kOk
  };
  // Single use: a token that is found is gone afterwards, whatever the verdict (a try
  // with the wrong account burns it too, so nobody gets a second guess).
  Redeemed redeem(std::string_view token, std::string_view account, double now);

  std::size_t size() const { return live_.size(); }

 private:
  struct Entry {
    std::string account;
    std::string maildir;
    double expires = 0;
  };
  void expire(double now);

  double ttl_;
  std::size_t max_;
  std::unordered_map<std::string, Entry> live_;
  std::deque<std::string> order_;  // issue order (expiry order: one TTL for all)
};

const char* to_string(LoginTokens::Verdict v);

}  // namespace authd
