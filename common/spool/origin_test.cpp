// Unit tests for envelope labels and their writers (common/spool/origin.hpp): what each
// writer's labels claim, and which writer may claim what.
#include "common/spool/origin.hpp"

#include <doctest/doctest.h>

using common::spool::claimed_origin;
using common::spool::may_claim;
using common::spool::Origin;

TEST_CASE("what the labels of each writer claim") {
  // smtpd: its protocol and "HELO [address]" (a HELO name has no space).
  CHECK(claimed_origin("ESMTPS", "mx.example.net [192.0.2.1]") == Origin::kSubmitter);
  CHECK(claimed_origin("ESMTP", "local [192.0.2.1]") == Origin::kSubmitter);
  // sendmail: protocol local, its own client.
  CHECK(claimed_origin("local", "uid 1000 (alice)") == Origin::kSubmitter);
  // The local agent's forwards, auto-replies and quota warnings.
  CHECK(claimed_origin("local", "local delivery agent") == Origin::kLocalAgent);
  CHECK(claimed_origin("local", "local delivery agent (quota warning)") == Origin::kLocalAgent);
  CHECK(claimed_origin("ESMTP", "local delivery agent (quota warning)") == Origin::kSubmitter);
  // The queue manager's notices and double bounces, whatever their client.
  CHECK(claimed_origin("bounce", "queue-manager") == Origin::kQueueManager);
  CHECK(claimed_origin("bounce", "") == Origin::kQueueManager);
  CHECK(claimed_origin("double-bounce", "x") == Origin::kQueueManager);
}

TEST_CASE("only the writer a label names may claim it") {
  for (Origin w : {Origin::kSubmitter, Origin::kLocalAgent, Origin::kQueueManager})
    CHECK(may_claim(w, Origin::kSubmitter));
  CHECK_FALSE(may_claim(Origin::kSubmitter, Origin::kLocalAgent));
  CHECK_FALSE(may_claim(Origin::kSubmitter, Origin::kQueueManager));
  CHECK_FALSE(may_claim(Origin::kLocalAgent, Origin::kQueueManager));
  CHECK(may_claim(Origin::kLocalAgent, Origin::kLocalAgent));
  CHECK(may_claim(Origin::kQueueManager, Origin::kQueueManager));
}
