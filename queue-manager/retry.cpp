// Implementation of the retry policy (see retry.hpp).
#include "queue-manager/retry.hpp"

#include "common/check.hpp"

namespace qmgr {

std::int64_t retry_delay(const RetryPolicy& p, std::uint32_t attempts) {
  std::int64_t d = p.min_delay;
  for (std::uint32_t i = 1; i < attempts && d < p.max_delay; ++i) d *= 2;
  return d < p.max_delay ? d : p.max_delay;
}

void apply_verdicts(Message& m, const std::vector<std::size_t>& idx,
                    const std::vector<common::mail::Verdict>& verdicts) {
  MB_CHECK(idx.size() == verdicts.size(), "verdict count checked by caller");
  for (std::size_t i = 0; i < idx.size(); ++i) {
    MB_CHECK(idx[i] < m.rcpts.size(), "recipient index in range");
    Rcpt& r = m.rcpts[idx[i]];
    const auto& v = verdicts[i];
    r.status = v.status;
    r.text = v.text;
    r.maybe_delivered = false;
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

RoundEnd end_round(Message& m, const RetryPolicy& p, std::int64_t now) {
  if (m.finished()) return RoundEnd::kFinished;
  ++m.attempts;
  std::int64_t next = now + retry_delay(p, m.attempts);
  if (now >= m.arrival + p.lifetime) {
    for (auto& r : m.rcpts) {
      if (r.state != RcptState::kPending) continue;
      r.state = RcptState::kFailed;
      r.status = "4.4.7";
      std::string last = r.text.empty() ? "" : " (last error: " + r.text + ")";
      r.text =
          "message expired after " + std::to_string((now - m.arrival) / 3600) + " hours in the queue" + last;
    }
    return RoundEnd::kExpired;
  }
  // Never schedule past the expiry point by more than needed: the last try happens at
  // the end of the lifetime.
  if (next > m.arrival + p.lifetime) next = m.arrival + p.lifetime;
  m.next_try = next;
  return RoundEnd::kDeferred;
}

}  // namespace qmgr
