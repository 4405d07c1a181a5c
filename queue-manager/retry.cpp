// Implementation of the retry policy (see retry.hpp).
#include "queue-manager/retry.hpp"

#include <climits>

#include "common/check.hpp"

namespace qmgr {

std::int64_t retry_delay(const RetryPolicy& p, std::uint32_t attempts) {
  std::int64_t d = p.min_delay;
  for (std::uint32_t i = 1; i < attempts && d < p.max_delay; ++i) d *= 2;
  return d < p.max_delay ? d : p.max_delay;
}

void apply_verdicts(Message& m, const std::vector<std::size_t>& idx,
                    const std::vector<common::mail::Verdict>& verdicts,
                    const std::vector<std::uint8_t>& dsn_passed) {
  MB_CHECK(idx.size() == verdicts.size(), "verdict count checked by caller");
  for (std::size_t i = 0; i < idx.size(); ++i) {
    MB_CHECK(idx[i] < m.rcpts.size(), "recipient index in range");
    Rcpt& r = m.rcpts[idx[i]];
    const auto& v = verdicts[i];
    r.status = v.status;
    r.text = v.text;
    r.maybe_delivered = false;
    r.dsn_passed = v.outcome == common::mail::Outcome::kOk && i < dsn_passed.size() && dsn_passed[i] != 0;
    ++r.attempts;
    switch (v.outcome) {
      case common::mail::Outcome::kOk: r.state = RcptState::kDone; break;
      case common::mail::Outcome::kTemporary: r.state = RcptState::kPending; break;
      case common::mail::Outcome::kPermanent: r.state = RcptState::kFailed; break;
    }
  }
}

void requeue(Message& m, const std::vector<std::size_t>& idx) {
  for (std::size_t i : idx)
    if (i < m.rcpts.size() && m.rcpts[i].state == RcptState::kInFlight)
      m.rcpts[i].state = RcptState::kPending;
}

std::int64_t RetryPolicy::lifetime_of(const std::string& address) const {
  if (domain_lifetime.empty()) return lifetime;
  auto at = address.rfind('@');
  if (at == std::string::npos) return lifetime;
  std::string domain = address.substr(at + 1);
  for (auto& c : domain)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  auto it = domain_lifetime.find(domain);
  return it == domain_lifetime.end() ? lifetime : it->second;
}

RoundEnd end_round(Message& m, const RetryPolicy& p, std::int64_t now, std::vector<std::size_t>* expired) {
  if (m.finished()) return RoundEnd::kFinished;
  ++m.attempts;
  std::int64_t next = now + retry_delay(p, m.attempts);
  // The last try happens at the end of the lifetime: never schedule past the earliest
  // expiry of a recipient still pending by more than needed.
  std::int64_t due = INT64_MAX;
  bool left = false;
  for (std::size_t i = 0; i < m.rcpts.size(); ++i) {
    Rcpt& r = m.rcpts[i];
    if (r.state != RcptState::kPending) continue;
    std::int64_t end = m.arrival + p.lifetime_of(r.address);
    if (now < end) {
      left = true;
      if (end < due) due = end;
      continue;
    }
    r.state = RcptState::kFailed;
    r.status = "4.4.7";
    std::string last = r.text.empty() ? "" : " (last error: " + r.text + ")";
    r.text =
        "message expired after " + std::to_string((now - m.arrival) / 3600) + " hours in the queue" + last;
    if (expired) expired->push_back(i);
  }
  if (!left) return m.finished() ? RoundEnd::kExpired : RoundEnd::kDeferred;
  if (next > due) next = due;
  m.next_try = next;
  return RoundEnd::kDeferred;
}

}  // namespace qmgr
