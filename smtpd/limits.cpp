// Per-client limits (see limits.hpp).
#include "smtpd/limits.hpp"

#include <algorithm>

namespace smtpd {

namespace {
constexpr double kRateWindow = 60;  // smtpd_max_connect_rate is per minute
constexpr double kMaxDelay = 8;
}  // namespace

ClientLimits::Verdict ClientLimits::connect(const std::string& ip, double now, bool exempt) {
  if (exempt) {
    ++table_[ip].sessions;
    return Verdict::kOk;
  }
  Entry& e = table_[ip];
  if (e.blocked_until > now) return Verdict::kBlocked;
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
  auto it = table_.find(ip);
  if (it != table_.end() && it->second.sessions > 0) --it->second.sessions;
}

void ClientLimits::expire_failures(Entry& e, double now) const {
  while (!e.failures.empty() && now - e.failures.front() >= static_cast<double>(s_.block_time))
    e.failures.pop_front();
}

ClientLimits::Failure ClientLimits::auth_failed(const std::string& ip, double now, bool exempt) {
  Entry& e = table_[ip];
  expire_failures(e, now);
  e.failures.push_back(now);
  Failure f;
  std::size_t n = e.failures.size();
  f.delay = std::min(kMaxDelay, static_cast<double>(1u << std::min<std::size_t>(n - 1, 4)));
  if (!exempt && static_cast<std::int64_t>(n) >= s_.auth_failures) {
    e.blocked_until = now + static_cast<double>(s_.block_time);
    e.failures.clear();
    f.blocked = true;
    f.delay = 0;
  }
  // An exempt address is never blocked, but its delay stops growing at the limit so a
  // deque of failures cannot grow without bound either.
  while (exempt && static_cast<std::int64_t>(e.failures.size()) > s_.auth_failures) e.failures.pop_front();
  return f;
}

bool ClientLimits::blocked(const std::string& ip, double now) const {
  auto it = table_.find(ip);
  return it != table_.end() && it->second.blocked_until > now;
}

void ClientLimits::prune(double now) {
  for (auto it = table_.begin(); it != table_.end();) {
    Entry& e = it->second;
    expire_failures(e, now);
    bool quiet = e.sessions == 0 && e.failures.empty() && e.blocked_until <= now &&
                 (now - e.rate_start >= kRateWindow || e.rate_count == 0);
    it = quiet ? table_.erase(it) : std::next(it);
  }
}

}  // namespace smtpd
