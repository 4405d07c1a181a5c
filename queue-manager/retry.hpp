// Retry policy and the bookkeeping after a delivery round, as pure functions over a
// Message, so that back-off, expiry and recipient states are unit-tested without sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/mail/outcome.hpp"
#include "queue-manager/message.hpp"

namespace qmgr {

struct RetryPolicy {
  std::int64_t min_delay = 300;    // seconds after the first deferral
  std::int64_t max_delay = 14400;  // cap of the doubling
  std::int64_t lifetime = 5 * 86400;
  // relay_domain_settings lifetime=: a recipient in one of these (lower-case) domains
  // expires after its own lifetime instead.
  std::map<std::string, std::int64_t> domain_lifetime = {};
  // The lifetime of a recipient address.
  std::int64_t lifetime_of(const std::string& address) const;
};

// Delay before attempt number `attempts + 1` after `attempts` deferrals (>= 1):
// min_delay doubling each time, capped at max_delay.
std::int64_t retry_delay(const RetryPolicy& p, std::uint32_t attempts);

// Applies one verdict per recipient index. Returns nothing; the caller inspects the
// message (finished(), states) afterwards. `dsn_passed`: empty, or one per verdict
// (DeliverDone::dsn_passed).
void apply_verdicts(Message& m, const std::vector<std::size_t>& idx,
                    const std::vector<common::mail::Verdict>& verdicts,
                    const std::vector<std::uint8_t>& dsn_passed = {});

// Puts recipients of a lost delivery (agent died) back to pending.
void requeue(Message& m, const std::vector<std::size_t>& idx);

enum class RoundEnd { kFinished, kDeferred, kExpired };
// Called when a message has nothing in flight any more. Pending recipients mean the
// round ended in deferral: schedule the next try, or expire those whose lifetime (their
// domain's, or the policy's) has passed (kFailed with a 4.4.7 reason, RFC 3463): the
// message is kExpired when none is left pending, else kDeferred. `expired` (if given)
// gets the indexes of the recipients that expired now.
RoundEnd end_round(Message& m, const RetryPolicy& p, std::int64_t now,
                   std::vector<std::size_t>* expired = nullptr);

}  // namespace qmgr
