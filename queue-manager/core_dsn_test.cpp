// The queue manager's Core and RFC 3461 DSN requests: which recipients get success, delay
// and failure notices, driven without a file system (the fake Host of core_test_world.hpp).
#include <doctest/doctest.h>

#include "common/mail/dsn.hpp"
#include "queue-manager/core.hpp"
#include "queue-manager/core_test_world.hpp"

using namespace qmgr;
using namespace qmgr::testing;

TEST_CASE("RFC 3461 4.1: NOTIFY decides the notices: NEVER none, SUCCESS a success notice") {
  World w;
  using namespace common::mail;
  auto m = message(1, {"bob@remote.test", "carol@example.test", "dave@example.test"});
  m->dsn = Message::Dsn::kAsked;
  w.host.notify[qid(1)] = {kNotifyNever, static_cast<std::uint8_t>(kNotifySuccess | kNotifyFailure), 0};
  w.submit(std::move(m));
  REQUIRE(w.host.sent.size() == 2);
  // bob (NEVER) fails; carol (SUCCESS) and dave (no NOTIFY) are delivered.
  for (const auto& s : std::vector<Sent>(w.host.sent))
    REQUIRE(w.verdict(s, s.agent == 200 ? Outcome::kPermanent : Outcome::kOk, kT0));
  REQUIRE(w.host.notices.size() == 1);
  CHECK(w.host.notices[0].kind == NoticeKind::kDelivered);
  CHECK(w.host.notices[0].rcpts == 1);  // carol only
  CHECK(w.host.notices[0].to == "a@sender.test");
}

TEST_CASE("RFC 3461 4.1: FAILURE and DELAY only for the recipients that ask; no file read without DSN") {
  FakeHost host;
  CoreSettings s = settings();
  s.delay_warning_time = 600;
  Core core(host, s);
  core.agent_ready(200, Transport::kRemote);
  auto m = message(1, {"bob@remote.test", "eve@remote.test"});
  m->dsn = Message::Dsn::kAsked;
  host.notify[qid(1)] = {common::mail::kNotifyFailure, common::mail::kNotifyDelay};
  core.linked(1, 1, std::move(m));
  core.commit();
  core.synced(0);
  std::int64_t now = defer_rounds(
      core, host, 200, qid(1), 3,
      {Verdict{Outcome::kTemporary, "4.4.1", "refused"}, Verdict{Outcome::kTemporary, "4.4.1", "x"}}, kT0);
  REQUIRE(host.notices.size() == 1);  // the delay warning names eve only
  CHECK(host.notices[0].kind == NoticeKind::kDelayed);
  CHECK(host.notices[0].rcpts == 1);
  core.dispatch(now);
  ipc::DeliverDone done;
  done.delivery_id = host.sent.back().d.delivery_id;
  done.results = {Verdict{Outcome::kPermanent, "5.1.1", "no"}, Verdict{Outcome::kPermanent, "5.1.1", "no"}};
  REQUIRE(core.delivered(200, done, now));
  REQUIRE(host.notices.size() == 2);  // the bounce names bob only
  CHECK(host.notices[1].kind == NoticeKind::kFailed);
  CHECK(host.notices[1].rcpts == 1);

  // A message that asked for nothing never makes the manager read its file again.
  World w;
  auto plain = message(2, {"carol@example.test"});
  plain->dsn = Message::Dsn::kNone;
  w.submit(std::move(plain));
  REQUIRE(w.verdict(w.last(), Outcome::kOk, kT0));
  CHECK(w.host.dsn_reads == 0);
  CHECK(w.host.notices.empty());
}
