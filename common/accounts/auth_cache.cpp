// The cache of successful password checks (see auth_cache.hpp).
#include "common/accounts/auth_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/check.hpp"

namespace common::accounts {

AuthCache::AuthCache() { MB_CHECK(RAND_bytes(key_, sizeof key_) == 1, "RAND_bytes for the auth cache key"); }

AuthCache::Ticket AuthCache::ticket(const std::string& user, std::string_view hash,
                                    std::string_view password) const {
  // The user is in the key of the map, but goes into the digest too: a ticket is only
  // ever valid for the account it was made for.
  std::string data;
  data.reserve(user.size() + hash.size() + password.size() + 2);
  data.append(user).push_back('\0');
  data.append(hash).push_back('\0');
  data.append(password);
  Ticket t;
  t.user = user;
  unsigned int len = 0;
  unsigned char* md =
      HMAC(EVP_sha256(), key_, sizeof key_, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           t.digest.data(), &len);
  OPENSSL_cleanse(data.data(), data.size());
  MB_CHECK(md != nullptr && len == t.digest.size(), "HMAC-SHA256");
  return t;
}

bool AuthCache::check(const Ticket& t, Clock::time_point now) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(t.user);
  if (it == entries_.end()) return false;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return false;
  }
  if (CRYPTO_memcmp(it->second.digest.data(), t.digest.data(), t.digest.size()) != 0) return false;
  it->second.expires = now + kTtl;
  return true;
}

void AuthCache::remember(const Ticket& t, Clock::time_point now) {
  std::lock_guard<std::mutex> g(mu_);
  if (entries_.size() >= kMaxEntries && entries_.find(t.user) == entries_.end()) {
    for (auto it = entries_.begin(); it != entries_.end();)
      it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
    // Still full of live entries: one goes (any; the next login of that user pays in full).
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  }
  entries_[t.user] = Entry{t.digest, now + kTtl};
}

std::size_t AuthCache::size() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.size();
}

}  // namespace common::accounts
