// One-time login tokens (see tokens.hpp).
#include "common/authd/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/check.hpp"

namespace authd {

std::string LoginTokens::issue(const std::string& account, const std::string& maildir, double now) {
  expire(now);
  // order_ also holds the names of redeemed tokens until they reach its front: bound it
  // too, so that quick issue-and-redeem cycles cannot grow it for a whole TTL.
  while ((live_.size() >= max_ || order_.size() >= 2 * max_) && !order_.empty()) {
    live_.erase(order_.front());
    order_.pop_front();
  }
  unsigned char rnd[kTokenSize / 2];
  MB_CHECK(RAND_bytes(rnd, sizeof rnd) == 1, "RAND_bytes for a login token");
  std::string token;
  token.reserve(kTokenSize);
  for (unsigned char c : rnd) {
    token += "0123456789abcdef"[c >> 4];
    token += "0123456789abcdef"[c & 15];
  }
  OPENSSL_cleanse(rnd, sizeof rnd);
  live_[token] = Entry{account, maildir, now + ttl_};
  order_.push_back(token);
  return token;
}

LoginTokens::Redeemed LoginTokens::redeem(std::string_view token, std::string_view account, double now) {
  Redeemed r;
  if (token.size() != kTokenSize) return r;
  auto it = live_.find(std::string(token));
  if (it == live_.end()) return r;
  Entry e = std::move(it->second);
  live_.erase(it);  // its name stays in order_ until expire() or eviction skips it
  if (now >= e.expires) {
    r.verdict = Verdict::kExpired;
  } else if (account != e.account) {
    r.verdict = Verdict::kWrongAccount;
  } else {
    r.verdict = Verdict::kOk;
    r.maildir = std::move(e.maildir);
  }
  expire(now);
  return r;
}

// Every token expires kTtl after its issue, so order_ is also expiry order: drop from
// the front what is expired or already redeemed.
void LoginTokens::expire(double now) {
  while (!order_.empty()) {
    auto it = live_.find(order_.front());
    if (it != live_.end() && it->second.expires > now) break;
    if (it != live_.end()) live_.erase(it);
    order_.pop_front();
  }
}

const char* to_string(LoginTokens::Verdict v) {
  switch (v) {
    case LoginTokens::Verdict::kOk: return "ok";
    case LoginTokens::Verdict::kUnknown: return "unknown token";
    case LoginTokens::Verdict::kExpired: return "expired token";
    case LoginTokens::Verdict::kWrongAccount: return "token of another account";
  }
  return "?";
}

}  // namespace authd
