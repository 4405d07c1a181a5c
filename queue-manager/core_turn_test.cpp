// Scenario tests of the Core's ODMR turn (core_turn.cpp): which recipients go with an
// ATRN's connection, and that their verdicts are booked like any delivery's.
#include "queue-manager/core_test_world.hpp"

namespace qmgr::testing {

TEST_CASE("RFC 2645 5.2.1: ATRN hands the waiting recipients of its domains to one remote agent") {
  World w;
  w.submit(message(1, {"boss@site.test", "x@else.test"}));
  w.submit(message(2, {"a@site.test"}));
  w.submit(message(3, {"y@third.test"}));
  w.submit(message(4, {"held@site.test"}));
  REQUIRE(w.host.sent.size() == 4);
  for (const auto& s : std::vector<Sent>(w.host.sent)) REQUIRE(w.verdict(s, Outcome::kTemporary, kT0));
  ipc::QueueCommand hold{"hold", qid(4)};
  REQUIRE(w.core.command(hold, kT0 + 1).ok);
  std::size_t before = w.host.sent.size();

  auto n = w.core.turn({"SITE.test"}, "site@isp.test [192.0.2.9]", common::io::UniqueFd());
  REQUIRE(n.has_value());
  CHECK(*n == 2u);  // 1 and 2; 3 is another domain's, 4 is held
  REQUIRE(w.host.turns.size() == 1);
  const Turn& t = w.host.turns[0];
  CHECK(t.agent == 200);
  CHECK(t.t.peer == "site@isp.test [192.0.2.9]");
  REQUIRE(w.host.sent.size() == before + 2);
  std::vector<Sent> turned(w.host.sent.begin() + static_cast<long>(before), w.host.sent.end());
  REQUIRE(t.t.delivery_ids.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(turned[i].agent == 200);
    CHECK(turned[i].d.delivery_id == t.t.delivery_ids[i]);
  }
  CHECK(turned[0].d.queue_id == qid(1));
  CHECK(turned[0].d.recipients == std::vector<std::string>{"boss@site.test"});  // not x@else.test
  CHECK(turned[1].d.recipients == std::vector<std::string>{"a@site.test"});

  // While they are in flight a second ATRN finds nothing more.
  CHECK(w.core.turn({"site.test"}, "site", common::io::UniqueFd()) == 0u);
  CHECK(w.host.turns.size() == 1);

  // The verdicts come back as for any delivery: 2 is done and leaves the queue, 1 keeps
  // its other recipient.
  for (const auto& s : turned) REQUIRE(w.verdict(s, Outcome::kOk, kT0 + 5));
  CHECK(w.core.find(qid(2)) == nullptr);
  REQUIRE(w.core.find(qid(1)) != nullptr);
  CHECK(w.core.find(qid(1))->rcpts[0].state == RcptState::kDone);
  CHECK(w.core.find(qid(1))->rcpts[1].state == RcptState::kPending);
  CHECK(w.core.turn({"site.test"}, "site", common::io::UniqueFd()) == 0u);  // 4 stays held
}

TEST_CASE("ATRN without a remote agent: nullopt, nothing in flight") {
  World w;
  w.submit(message(1, {"boss@site.test"}));
  REQUIRE(w.verdict(w.last(), Outcome::kTemporary, kT0));
  w.core.agent_lost(200, kT0 + 1);
  std::size_t before = w.host.sent.size();
  CHECK(w.core.turn({"site.test"}, "site", common::io::UniqueFd()) == std::nullopt);
  CHECK(w.host.sent.size() == before);
  CHECK(w.host.turns.empty());
  CHECK(w.core.find(qid(1))->rcpts[0].state == RcptState::kPending);
}

TEST_CASE("a lost agent puts an ATRN's recipients back like any delivery's") {
  World w;
  w.submit(message(1, {"boss@site.test"}));
  REQUIRE(w.verdict(w.last(), Outcome::kTemporary, kT0));
  REQUIRE(w.core.turn({"site.test"}, "site", common::io::UniqueFd()) == 1u);
  w.core.agent_lost(200, kT0 + 2);
  const Message* m = w.core.find(qid(1));
  REQUIRE(m != nullptr);
  CHECK(m->rcpts[0].state == RcptState::kPending);
  CHECK(m->rcpts[0].maybe_delivered);
  CHECK(m->in_flight == 0);
}

}  // namespace qmgr::testing
