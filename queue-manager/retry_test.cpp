// Unit tests for the retry policy and recipient bookkeeping (no sockets, no disk).
#include "queue-manager/retry.hpp"

#include <doctest/doctest.h>

using common::mail::Outcome;
using common::mail::Verdict;
using namespace qmgr;

namespace {

Message msg(std::size_t nrcpt, std::int64_t arrival = 1000) {
  Message m;
  m.id = "0000000000001ABC";
  m.arrival = arrival;
  for (std::size_t i = 0; i < nrcpt; ++i)
    m.rcpts.push_back(Rcpt{"u" + std::to_string(i) + "@example.test", RcptState::kPending, 0, "", ""});
  return m;
}

}  // namespace

TEST_CASE("retry delay doubles from min up to max") {
  RetryPolicy p{300, 14400, 5 * 86400};
  CHECK(retry_delay(p, 1) == 300);
  CHECK(retry_delay(p, 2) == 600);
  CHECK(retry_delay(p, 3) == 1200);
  CHECK(retry_delay(p, 6) == 9600);
  CHECK(retry_delay(p, 7) == 14400);
  CHECK(retry_delay(p, 1000) == 14400);  // no overflow after many attempts
}

TEST_CASE("verdicts set recipient states; the round ends only when nothing is pending") {
  RetryPolicy p{300, 14400, 86400};
  Message m = msg(3);
  apply_verdicts(m, {0, 1, 2},
                 {Verdict{Outcome::kOk, "2.0.0", "ok"}, Verdict{Outcome::kTemporary, "4.2.2", "full"},
                  Verdict{Outcome::kPermanent, "5.1.1", "no such user"}});
  CHECK(m.rcpts[0].state == RcptState::kDone);
  CHECK(m.rcpts[1].state == RcptState::kPending);
  CHECK(m.rcpts[1].text == "full");
  CHECK(m.rcpts[2].state == RcptState::kFailed);
  CHECK_FALSE(m.finished());
  CHECK(end_round(m, p, 2000) == RoundEnd::kDeferred);
  CHECK(m.attempts == 1);
  CHECK(m.next_try == 2300);
  // Second round: the deferred recipient is delivered; delivered ones are never retried.
  apply_verdicts(m, {1}, {Verdict{Outcome::kOk, "2.0.0", "ok"}});
  CHECK(m.finished());
  CHECK(end_round(m, p, 2400) == RoundEnd::kFinished);
}

TEST_CASE("a message past its lifetime expires with 4.4.7 (RFC 3463)") {
  RetryPolicy p{300, 14400, 3600};
  Message m = msg(2, 1000);
  apply_verdicts(
      m, {0, 1},
      {Verdict{Outcome::kTemporary, "4.4.1", "connection refused"}, Verdict{Outcome::kOk, "2.0.0", "ok"}});
  CHECK(end_round(m, p, 1000 + 3600) == RoundEnd::kExpired);
  CHECK(m.rcpts[0].state == RcptState::kFailed);
  CHECK(m.rcpts[0].status == "4.4.7");
  CHECK(m.rcpts[0].text.find("connection refused") != std::string::npos);
  CHECK(m.rcpts[1].state == RcptState::kDone);
}

TEST_CASE("the last retry is scheduled at the end of the lifetime, not after it") {
  RetryPolicy p{3000, 14400, 3600};
  Message m = msg(1, 1000);
  apply_verdicts(m, {0}, {Verdict{Outcome::kTemporary, "4.4.1", "down"}});
  m.attempts = 5;  // next delay would be the 4 h cap
  CHECK(end_round(m, p, 2000) == RoundEnd::kDeferred);
  CHECK(m.next_try == 1000 + 3600);
}

TEST_CASE("a relay domain's own lifetime: its recipients expire first, the rest wait") {
  RetryPolicy p{300, 14400, 86400};
  p.domain_lifetime["backup.test"] = 3600;
  CHECK(p.lifetime_of("a@Backup.TEST") == 3600);
  CHECK(p.lifetime_of("a@other.test") == 86400);
  CHECK(p.lifetime_of("no-domain") == 86400);
  Message m = msg(2, 1000);
  m.rcpts[0].address = "boss@backup.test";
  m.rcpts[1].address = "bob@other.test";
  apply_verdicts(
      m, {0, 1},
      {Verdict{Outcome::kTemporary, "4.4.1", "primary down"}, Verdict{Outcome::kTemporary, "4.4.1", "down"}});
  // Before the hour: both wait, the next try no later than the relay domain's expiry.
  m.attempts = 5;
  CHECK(end_round(m, p, 2000) == RoundEnd::kDeferred);
  CHECK(m.next_try == 1000 + 3600);
  // After it: the relay recipient fails with 4.4.7, the other keeps waiting.
  std::vector<std::size_t> expired;
  CHECK(end_round(m, p, 1000 + 3600, &expired) == RoundEnd::kDeferred);
  CHECK(expired == std::vector<std::size_t>{0});
  CHECK(m.rcpts[0].state == RcptState::kFailed);
  CHECK(m.rcpts[0].status == "4.4.7");
  CHECK(m.rcpts[0].text.find("primary down") != std::string::npos);
  CHECK(m.rcpts[1].state == RcptState::kPending);
  CHECK(m.next_try > 1000 + 3600);
  // At the default lifetime the last one goes too: the message has expired.
  expired.clear();
  CHECK(end_round(m, p, 1000 + 86400, &expired) == RoundEnd::kExpired);
  CHECK(expired == std::vector<std::size_t>{1});
}

TEST_CASE("requeue puts only in-flight recipients back to pending") {
  Message m = msg(3);
  m.rcpts[0].state = RcptState::kInFlight;
  m.rcpts[1].state = RcptState::kDone;
  m.rcpts[2].state = RcptState::kInFlight;
  requeue(m, {0, 1, 2, 7});
  CHECK(m.rcpts[0].state == RcptState::kPending);
  CHECK(m.rcpts[1].state == RcptState::kDone);
  CHECK(m.rcpts[2].state == RcptState::kPending);
}

TEST_CASE("RFC 3461 5.2.1: a next hop that took the DSN request on is remembered per delivered recipient") {
  Message m = msg(3);
  apply_verdicts(m, {0, 1, 2},
                 {Verdict{Outcome::kOk, "2.0.0", "ok"}, Verdict{Outcome::kOk, "2.0.0", "ok"},
                  Verdict{Outcome::kTemporary, "4.4.1", "later"}},
                 {1, 0, 1});
  CHECK(m.rcpts[0].dsn_passed);
  CHECK_FALSE(m.rcpts[1].dsn_passed);  // a server without DSN: "relayed" is ours to send
  CHECK_FALSE(m.rcpts[2].dsn_passed);  // not delivered: the flag means nothing yet
  // An agent that sends no flags (the local one) passes nothing on.
  apply_verdicts(m, {2}, {Verdict{Outcome::kOk, "2.0.0", "ok"}});
  CHECK_FALSE(m.rcpts[2].dsn_passed);
}
