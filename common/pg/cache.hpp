// The per-node read cache of the PostgreSQL accounts backend (pg_accounts.hpp): answers
// by key, each kept at most `ttl` (the bound on staleness when a notification is lost),
// all dropped at once when the database says something changed (LISTEN/NOTIFY, conn.hpp)
// or when the connection was re-made. Negative answers (no such user) are cached too:
// they are most of what an MX is asked. Bounded: a full cache is emptied.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

namespace common::pg {

template <class T>
class TtlCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxEntries = 100000;
  explicit TtlCache(Clock::duration ttl) : ttl_(ttl) {}

  // The cached answer for `key`, if one younger than the TTL is held.
  const T* find(const std::string& key, Clock::time_point now) const {
    auto it = map_.find(key);
    if (it == map_.end() || now - it->second.at >= ttl_) return nullptr;
    return &it->second.value;
  }
  void put(const std::string& key, T value, Clock::time_point now) {
    if (ttl_ <= Clock::duration::zero()) return;
    if (map_.size() >= kMaxEntries) map_.clear();
    map_[key] = Entry{std::move(value), now};
  }
  void clear() { map_.clear(); }
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    T value;
    Clock::time_point at;
  };
  Clock::duration ttl_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace common::pg
