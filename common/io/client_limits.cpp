// Per-client limits (see client_limits.hpp).
#include "common/io/client_limits.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace common::io {

namespace {
constexpr double kRateWindow = 60;  // connect_rate is per minute
constexpr double kMaxDelay = 8;
}  // namespace

std::string ClientLimits::key(const std::string& ip) const {
  if (ip.find(':') == std::string::npos || s_.ipv6_prefix >= 128) return ip;
  in6_addr a{};
  if (inet_pton(AF_INET6, ip.c_str(), &a) != 1) return ip;
  int bits = std::max(0, s_.ipv6_prefix);
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - 8 * i, 0, 8);
    a.s6_addr[i] &= static_cast<unsigned char>(0xff00 >> keep);
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(bits);
}

ClientLimits::Verdict ClientLimits::connect(const std::string& ip, double now, bool exempt) {
  Entry& e = table_[key(ip)];
  if (exempt) {
    ++e.sessions;
    return Verdict::kOk;
  }
  if (s_.block_connections && e.blocked_until > now) return Verdict::kBlocked;
  if (e.rate_count == 0 || now - e.rate_start >= kRateWindow || now < e.rate_start) {
    e.rate_start = now;
    e.rate_count = 0;
  }
  ++e.rate_count;
  if (s_.connect_rate > 0 && e.rate_count > s_.connect_rate) return Verdict::kRate;
  if (e.sessions >= s_.max_sessions) return Verdict::kTooManySessions;
  ++e.sessions;
  return Verdict::kOk;
}

void ClientLimits::closed(const std::string& ip) {
  auto it = table_.find(key(ip));
  if (it != table_.end() && it->second.sessions > 0) --it->second.sessions;
}

void ClientLimits::expire_failures(Entry& e, double now) const {
  while (!e.failures.empty() && now - e.failures.front() >= static_cast<double>(s_.block_time))
    e.failures.pop_front();
}

ClientLimits::Verdict ClientLimits::auth_started(const std::string& ip, double now, bool exempt) {
  Entry& e = table_[key(ip)];
  if (!exempt) {
    if (e.blocked_until > now) return Verdict::kBlocked;
    expire_failures(e, now);
    // Once a client has failed, the checks it has running count as failures to come: it
    // cannot start more than the limit leaves. (Before its first failure they do not, so
    // that many sessions logging in at once from one address, an office behind NAT, all
    // get through; such a first wave is bounded by the sessions per client.)
    auto failures = static_cast<std::int64_t>(e.failures.size());
    if (failures > 0 && failures + e.checking >= s_.auth_failures) return Verdict::kBlocked;
  }
  ++e.checking;
  return Verdict::kOk;
}

ClientLimits::Failure ClientLimits::auth_finished(const std::string& ip, double now, bool exempt, bool ok) {
  Entry& e = table_[key(ip)];
  if (e.checking > 0) --e.checking;
  Failure f;
  if (ok) return f;
  expire_failures(e, now);
  e.failures.push_back(now);
  std::size_t n = e.failures.size();
  f.delay = std::min(kMaxDelay, static_cast<double>(1u << std::min<std::size_t>(n - 1, 4)));
  if (!exempt && static_cast<std::int64_t>(n) >= s_.auth_failures) {
    // The failures stay: they expire with the block, so the count restarts after it.
    e.blocked_until = now + static_cast<double>(s_.block_time);
    f.blocked = true;
    f.delay = 0;
  }
  // An exempt client is never blocked, but its delay stops growing at the limit so the
  // deque of failures cannot grow without bound either.
  while (static_cast<std::int64_t>(e.failures.size()) > s_.auth_failures) e.failures.pop_front();
  return f;
}

bool ClientLimits::blocked(const std::string& ip, double now) const {
  auto it = table_.find(key(ip));
  return it != table_.end() && it->second.blocked_until > now;
}

void ClientLimits::prune(double now) {
  for (auto it = table_.begin(); it != table_.end();) {
    Entry& e = it->second;
    expire_failures(e, now);
    bool quiet = e.sessions == 0 && e.checking == 0 && e.failures.empty() && e.blocked_until <= now &&
                 (now - e.rate_start >= kRateWindow || e.rate_count == 0);
    it = quiet ? table_.erase(it) : std::next(it);
  }
}

}  // namespace common::io
