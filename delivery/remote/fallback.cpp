// Implementation of the fallback relay decisions (see fallback.hpp).
#include "delivery/remote/fallback.hpp"

namespace delivery::remote {

using common::mail::Outcome;
using common::mail::Verdict;

std::optional<int> next_fallback(const std::vector<common::smtp::NextHop>& fallbacks, int current,
                                 bool self_mx, const Verdict& v) {
  if (v.outcome != Outcome::kTemporary || self_mx) return std::nullopt;
  int next = current < 0 ? 0 : current + 1;
  if (next >= static_cast<int>(fallbacks.size())) return std::nullopt;
  return next;
}

Verdict after_fallbacks(const std::string& first_failure, const Verdict& last) {
  if (last.outcome != Outcome::kTemporary || first_failure.empty()) return last;
  Verdict v = last;
  v.text = first_failure + "; fallback relay: " + last.text;
  return v;
}

}  // namespace delivery::remote
