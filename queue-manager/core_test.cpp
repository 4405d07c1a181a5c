// Scenario tests for the queue manager's Core: each rule driven as the daemon drives it
// (events in, with the time; what it asks of the spool and the sockets recorded by a fake
// Host, core_test_world.hpp), without a file system, sockets or an event loop. The DSN
// rules are in core_dsn_test.cpp.
#include "queue-manager/core.hpp"

#include <doctest/doctest.h>

#include <cerrno>

#include "queue-manager/core_test_world.hpp"

using namespace qmgr;
using namespace qmgr::testing;

TEST_CASE("crash between link and sync: nothing is answered before the batch is durable") {
  World w;
  w.core.linked(1, 7, message(1, {"bob@example.test"}));
  w.core.linked(2, 8, message(2, {"carol@example.test"}));
  CHECK(w.host.answers.empty());
  w.core.commit();
  CHECK(w.host.syncs == 1);
  // A second commit while the sync runs starts nothing; what arrives meanwhile waits.
  w.core.linked(3, 9, message(3, {"dave@example.test"}));
  w.core.commit();
  CHECK(w.host.syncs == 1);
  CHECK(w.host.answers.empty());
  CHECK(w.core.queue().size() == 0);  // not delivered before it is durable either
  w.core.synced(0);
  REQUIRE(w.host.answers.size() == 2);
  CHECK(w.host.answers[0].v.outcome == Outcome::kOk);
  CHECK(w.host.answers[0].queue_id == qid(1));
  CHECK(w.core.queue().size() == 2);
  w.core.commit();  // the next batch
  CHECK(w.host.syncs == 2);

  SUBCASE("the process dies before the sync ends: on restart the file is delivered, checked for duplicates") {
    FakeHost host2;
    Core after(host2, settings());
    after.agent_ready(100, Transport::kLocal);
    after.adopt(message(3, {"dave@example.test"}), kT0 + 5);
    after.dispatch(kT0 + 5);
    REQUIRE(host2.sent.size() == 1);
    CHECK(host2.sent[0].d.check_duplicates);
  }
  SUBCASE("a failed sync refuses the batch with a temporary error and removes its files") {
    w.core.synced(EIO);
    REQUIRE(w.host.answers.size() == 3);
    CHECK(w.host.answers[2].v.outcome == Outcome::kTemporary);
    CHECK(w.host.answers[2].v.status == "4.3.0");
    CHECK(w.host.unlinked == std::vector<std::string>{qid(3)});
    CHECK(w.core.find(qid(3)) == nullptr);
  }
  SUBCASE("a submitter gone before the sync never saw 250: its copy is dropped") {
    w.host.gone.insert(3);
    w.core.synced(0);
    CHECK(w.host.answers.size() == 2);
    CHECK(w.host.unlinked == std::vector<std::string>{qid(3)});
  }
}

TEST_CASE("recovery: record and file, file alone, record alone, damaged files") {
  FakeHost host;
  Core core(host, settings());
  // A: deferred before the crash, one recipient delivered, one in flight.
  auto a = message(1, {"done@example.test", "flying@remote.test", "later@remote.test"});
  host.disk[qid(1)] = std::make_unique<Message>(*a);
  Message rec_a = *a;
  rec_a.rcpts[0].state = RcptState::kDone;
  rec_a.rcpts[1].state = RcptState::kInFlight;
  rec_a.attempts = 2;
  rec_a.next_try = kT0 + 600;
  // B: linked and synced, never attempted (no record).
  host.disk[qid(2)] = message(2, {"bob@example.test"});
  // C: a record whose file is gone (finished before the crash).
  Message rec_c = *message(3, {"x@remote.test"});
  // D: a record whose file was truncated behind the queue's back.
  auto d = message(4, {"y@remote.test"});
  Message rec_d = *d;
  rec_d.data_size = 999;
  host.disk[qid(4)] = std::move(d);
  // E: garbage under a queue id; F: a stray name.
  host.disk[qid(5)] = std::make_unique<Message>();
  std::vector<std::string> names{qid(1), qid(2), qid(4), qid(5), "stray"};
  std::vector<std::unique_ptr<Message>> records;
  for (const Message* rec : {&rec_d, &rec_a, &rec_c}) records.push_back(std::make_unique<Message>(*rec));
  auto r = core.recover(names, std::move(records), {qid(6)}, kT0 + 10);
  CHECK(r.from_records == 1);
  CHECK(r.from_files == 1);
  CHECK(r.damaged == 3);
  CHECK(r.stale_records == 1);
  CHECK(host.moved_aside == std::vector<std::string>{qid(4), qid(5), "stray"});
  CHECK(host.ops == std::vector<std::string>{"erase " + qid(6), "erase " + qid(4), "erase " + qid(3)});
  REQUIRE(core.queue().size() == 2);
  Message* ma = core.find(qid(1));
  REQUIRE(ma != nullptr);
  CHECK(ma->rcpts[0].state == RcptState::kDone);
  CHECK(ma->rcpts[1].state == RcptState::kPending);
  CHECK(ma->rcpts[1].maybe_delivered);
  CHECK(ma->has_record);
  // B is due now and goes first; A waits for its next_try, then only its pending
  // recipients go, checked for duplicates.
  core.agent_ready(100, Transport::kLocal);
  core.agent_ready(200, Transport::kRemote);
  core.dispatch(kT0 + 10);
  REQUIRE(host.sent.size() == 1);
  CHECK(host.sent[0].d.queue_id == qid(2));
  CHECK(host.sent[0].d.check_duplicates);
  core.wake(kT0 + 600);
  core.dispatch(kT0 + 600);
  REQUIRE(host.sent.size() == 2);
  CHECK(host.sent[1].d.recipients == std::vector<std::string>{"flying@remote.test", "later@remote.test"});
  CHECK(host.sent[1].d.check_duplicates);
  // The moved files' directory entries are covered by the first sync.
  core.commit();
  CHECK(host.syncs == 1);
}

TEST_CASE("intake refuses a duplicate queue id and an oversized message") {
  World w;
  w.core.linked(1, 7, message(1, {"bob@example.test"}));
  CHECK(w.core.admit(qid(1), 10).has_value());
  CHECK(w.core.admit(qid(2), 10) == std::nullopt);
  auto big = w.core.admit(qid(2), 2 << 20);
  REQUIRE(big.has_value());
  CHECK(big->verdict.status == "5.3.4");
}

TEST_CASE("a relay domain's max_queued: past it, intake refuses with 4.3.1 until mail leaves") {
  FakeHost host;
  CoreSettings s = settings();
  s.domain_max_queued["backup.test"] = 250;  // two 100-byte messages fit, a third does not
  Core core{host, s};
  core.agent_ready(200, Transport::kRemote);
  CHECK_FALSE(core.admit(qid(1), 100, {"a@backup.test"}));
  core.linked(1, 7, message(1, {"a@backup.test", "b@backup.test"}));  // counted once
  CHECK(core.queued_bytes("backup.test") == 100);                     // taken in, not yet synced
  core.commit();
  core.synced(0);
  core.linked(1, 8, message(2, {"c@Backup.test"}));
  core.commit();
  core.synced(0);
  CHECK(core.queued_bytes("backup.test") == 200);
  auto full = core.admit(qid(3), 100, {"x@other.test", "d@backup.test"});
  REQUIRE(full);
  CHECK(full->verdict.outcome == Outcome::kTemporary);
  CHECK(full->verdict.status == "4.3.1");
  CHECK(full->verdict.text.find("backup.test") != std::string::npos);
  CHECK_FALSE(core.admit(qid(3), 50, {"d@backup.test"}));  // a smaller one still fits
  CHECK_FALSE(core.admit(qid(3), 100, {"x@other.test"}));  // other domains have no limit
  CHECK(core.queued_bytes("other.test") == 0);
  // Delivered: the bytes are free again.
  core.dispatch(kT0);
  while (!host.sent.empty()) {
    auto sent = host.sent.back();
    host.sent.pop_back();
    ipc::DeliverDone done;
    done.delivery_id = sent.d.delivery_id;
    for (std::size_t i = 0; i < sent.d.recipients.size(); ++i)
      done.results.push_back(Verdict{Outcome::kOk, "2.0.0", "ok"});
    REQUIRE(core.delivered(sent.agent, done, kT0).is_ok());
  }
  CHECK(core.queued_bytes("backup.test") == 0);
  CHECK_FALSE(core.admit(qid(3), 200, {"d@backup.test"}));
}

TEST_CASE("poison message: an agent dying on it twice defers it instead of a crash loop") {
  World w;
  w.submit(message(1, {"bob@example.test"}));
  REQUIRE(w.host.sent.size() == 1);
  w.core.agent_lost(100, kT0);
  // Lost once: tried again at once (by another agent), checked for duplicates.
  w.core.agent_ready(101, Transport::kLocal);
  w.core.dispatch(kT0);
  REQUIRE(w.host.sent.size() == 2);
  CHECK(w.last().agent == 101);
  CHECK(w.last().d.check_duplicates);
  w.core.agent_lost(101, kT0 + 1);
  w.core.agent_ready(102, Transport::kLocal);
  w.core.dispatch(kT0 + 1);
  CHECK(w.host.sent.size() == 2);  // deferred, not sent to the new agent
  Message* m = w.core.find(qid(1));
  REQUIRE(m != nullptr);
  CHECK(m->next_try == kT0 + 1 + 300);
  CHECK(m->rcpts[0].status == "4.3.0");
  CHECK(w.host.records.count(qid(1)) == 1);
  w.core.wake(m->next_try);
  w.core.dispatch(m->next_try);
  CHECK(w.host.sent.size() == 3);
}

TEST_CASE("poison message: a queue file damaged behind the queue's back is moved aside") {
  World w;
  w.host.files[qid(1)] = FileState::kDamaged;
  w.submit(message(1, {"bob@example.test"}));
  CHECK(w.host.sent.empty());
  CHECK(w.host.moved_aside == std::vector<std::string>{qid(1)});
  CHECK(w.core.find(qid(1)) == nullptr);
  CHECK(w.host.notices.empty());
}

TEST_CASE("retry back-off doubles from queue_retry_min up to queue_retry_max") {
  World w;
  w.submit(message(1, {"bob@remote.test"}));
  std::int64_t now = kT0;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 6; ++i) {
    REQUIRE(w.verdict(w.last(), Outcome::kTemporary, now));
    Message* m = w.core.find(qid(1));
    REQUIRE(m != nullptr);
    delays.push_back(m->next_try - now);
    CHECK(w.host.wake == m->next_try);
    // Not tried before its time.
    std::size_t sent = w.host.sent.size();
    w.core.wake(m->next_try - 1);
    w.core.dispatch(m->next_try - 1);
    CHECK(w.host.sent.size() == sent);
    now = m->next_try;
    w.core.wake(now);
    w.core.dispatch(now);
    CHECK(w.host.sent.size() == sent + 1);
  }
  CHECK(delays == std::vector<std::int64_t>{300, 600, 1200, 2400, 3600, 3600});
  CHECK(w.host.notices.empty());
}

TEST_CASE("lifetime expiry: pending recipients fail with 4.4.7 and the sender gets one bounce") {
  World w;
  w.submit(message(1, {"bob@remote.test", "carol@example.test"}));
  REQUIRE(w.host.sent.size() == 2);
  REQUIRE(w.verdict(w.host.sent[0], Outcome::kOk, kT0));  // carol (local) delivered
  REQUIRE(w.verdict(w.host.sent[1], Outcome::kTemporary, kT0));
  std::int64_t end = kT0 + 86400;
  w.core.wake(end);
  w.core.dispatch(end);
  REQUIRE(w.verdict(w.last(), Outcome::kTemporary, end));
  REQUIRE(w.host.notices.size() == 1);
  CHECK(w.host.notices[0].to == "a@sender.test");
  CHECK(w.host.notices[0].kind == NoticeKind::kFailed);
  CHECK(w.host.notices[0].rcpts == 1);
  CHECK(w.host.notices[0].protocol == "bounce");
  CHECK(w.core.find(qid(1)) == nullptr);
  CHECK(w.host.unlinked == std::vector<std::string>{qid(1)});
  CHECK(w.host.records.count(qid(1)) == 0);
  // The bounce itself is queued like a new message, after the next sync.
  CHECK(w.core.pending_intake() == 1);
}

TEST_CASE("crash ordering when a message leaves: notice linked first, then the file, then its record") {
  World w;
  w.submit(message(1, {"bob@remote.test"}));
  REQUIRE(w.verdict(w.last(), Outcome::kTemporary, kT0));  // deferred: it has a record now
  CHECK(w.host.ops == std::vector<std::string>{"put " + qid(1)});
  w.core.wake(kT0 + 300);
  w.core.dispatch(kT0 + 300);
  REQUIRE(w.verdict(w.last(), Outcome::kPermanent, kT0 + 300));
  // A crash after the unlink leaves a record without a file, which recovery drops; the
  // other order could deliver to everyone again.
  CHECK(w.host.ops ==
        std::vector<std::string>{"put " + qid(1), "notice " + qid(1), "unlink " + qid(1), "erase " + qid(1)});
  // A message without a record goes on the remover's thread.
  w.submit(message(2, {"carol@example.test"}));
  REQUIRE(w.verdict(w.last(), Outcome::kOk, kT0 + 301));
  CHECK(w.host.ops.back() == "unlink-later " + qid(2));
}

TEST_CASE("double bounce: a failed bounce goes to postmaster once, never bounced again") {
  World w;
  w.submit(message(1, {"gone@remote.test"}, "", "bounce"));
  REQUIRE(w.verdict(w.last(), Outcome::kPermanent, kT0));
  REQUIRE(w.host.notices.size() == 1);
  CHECK(w.host.notices[0].to == "postmaster@mx.example.test");
  CHECK(w.host.notices[0].protocol == "double-bounce");
  // The copy to postmaster fails too: dropped without another notice.
  w.core.commit();
  w.core.synced(0);
  w.core.dispatch(kT0);
  REQUIRE(w.last().d.recipients == std::vector<std::string>{"postmaster@mx.example.test"});
  REQUIRE(w.verdict(w.last(), Outcome::kPermanent, kT0));
  CHECK(w.host.notices.size() == 1);
  // Nor is there a notice about any other message with the null sender.
  w.submit(message(2, {"x@remote.test"}, "", "esmtp"));
  REQUIRE(w.verdict(w.last(), Outcome::kPermanent, kT0));
  CHECK(w.host.notices.size() == 1);
}

TEST_CASE("each Deliver says who wrote the message: submitter, local agent or the queue manager") {
  using common::spool::Origin;
  World w;
  w.submit(message(1, {"a@example.test"}, "", "local"));  // sendmail's labels
  CHECK(w.last().d.origin == Origin::kSubmitter);
  auto warning = message(2, {"b@example.test"}, "", "local");
  warning->client = "local delivery agent (quota warning)";  // intake took it from the agent
  w.submit(std::move(warning));
  CHECK(w.last().d.origin == Origin::kLocalAgent);
  REQUIRE(w.verdict(w.last(), Outcome::kOk, kT0));
  w.submit(message(3, {"gone@remote.test"}));
  REQUIRE(w.verdict(w.last(), Outcome::kPermanent, kT0));
  REQUIRE(w.host.notices.size() == 1);
  w.core.commit();
  w.core.synced(0);
  w.core.dispatch(kT0);
  CHECK(w.last().d.sender.empty());
  CHECK(w.last().d.origin == Origin::kQueueManager);
}

TEST_CASE("delay warning: sent once, when a deferral comes after delay_warning_time") {
  FakeHost host;
  CoreSettings s = settings();
  s.delay_warning_time = 600;
  Core core(host, s);
  core.agent_ready(200, Transport::kRemote);
  core.linked(1, 1, message(1, {"bob@remote.test"}));
  core.commit();
  core.synced(0);
  defer_rounds(core, host, 200, qid(1), 4, {Verdict{Outcome::kTemporary, "4.4.1", "refused"}}, kT0,
               [&](std::int64_t now) { CHECK(host.notices.size() == (now - kT0 >= 600 ? 1u : 0u)); });
  REQUIRE(host.notices.size() == 1);
  CHECK(host.notices[0].kind == NoticeKind::kDelayed);
  CHECK(core.find(qid(1))->warned);  // persisted with the record
}

TEST_CASE("ETRN releases a domain's deferred mail, once per interval, through the domain index") {
  World w;
  w.submit(message(1, {"boss@backup.test"}));
  w.submit(message(2, {"x@sub.backup.test"}));
  w.submit(message(3, {"y@other.test"}));
  REQUIRE(w.host.sent.size() == 3);
  for (const auto& s : std::vector<Sent>(w.host.sent)) REQUIRE(w.verdict(s, Outcome::kTemporary, kT0));
  std::size_t sent = w.host.sent.size();

  CHECK(w.core.etrn("192.0.2.1", "BACKUP.test", false, kT0 + 10) == 1u);
  w.core.dispatch(kT0 + 10);
  REQUIRE(w.host.sent.size() == sent + 1);
  CHECK(w.last().d.queue_id == qid(1));
  REQUIRE(w.verdict(w.last(), Outcome::kTemporary, kT0 + 10));
  // Again within the interval: counted, not forced.
  CHECK(w.core.etrn("192.0.2.1", "backup.test", false, kT0 + 20) == 1u);
  w.core.dispatch(kT0 + 20);
  CHECK(w.host.sent.size() == sent + 1);
  // The subdomain form reaches sub.backup.test, which was not released yet.
  CHECK(w.core.etrn("192.0.2.2", "backup.test", true, kT0 + 30) == 2u);
  w.core.dispatch(kT0 + 30);
  REQUIRE(w.host.sent.size() == sent + 2);
  CHECK(w.last().d.queue_id == qid(2));
  // The client's limit (3 per interval here): the fourth request is refused.
  CHECK(w.core.etrn("192.0.2.1", "other.test", false, kT0 + 40) == 1u);
  CHECK(w.core.etrn("192.0.2.1", "other.test", false, kT0 + 41) == std::nullopt);
  // After the interval the domain can be forced again.
  CHECK(w.core.etrn("192.0.2.1", "backup.test", false, kT0 + 80) == 1u);
  w.core.dispatch(kT0 + 80);
  CHECK(w.last().d.queue_id == qid(1));
  // The administrator's ETRN is not limited.
  ipc::QueueCommand c{"etrn", "other.test"};
  auto rep = w.core.command(c, kT0 + 81);
  CHECK(rep.ok);
  CHECK(rep.count == 1);
}

TEST_CASE("hold, release and delete") {
  World w;
  w.submit(message(1, {"bob@remote.test"}));
  REQUIRE(w.verdict(w.last(), Outcome::kTemporary, kT0));
  std::size_t sent = w.host.sent.size();
  CHECK(w.core.command({"hold", qid(1)}, kT0).ok);
  w.core.wake(kT0 + 10000);
  w.core.dispatch(kT0 + 10000);
  CHECK(w.host.sent.size() == sent);  // held: never scheduled
  CHECK(w.core.command({"flush", ""}, kT0).count == 0);
  CHECK(w.core.command({"release", qid(1)}, kT0 + 10000).ok);
  w.core.dispatch(kT0 + 10000);
  REQUIRE(w.host.sent.size() == sent + 1);
  // Deleted while in flight: removed when the attempt ends, without a notice.
  auto rep = w.core.command({"delete", qid(1)}, kT0 + 10000);
  CHECK(rep.text.find("when its current delivery attempt ends") != std::string::npos);
  REQUIRE(w.verdict(w.last(), Outcome::kPermanent, kT0 + 10001));
  CHECK(w.core.find(qid(1)) == nullptr);
  CHECK(w.host.notices.empty());
  CHECK(w.core.command({"delete", qid(1)}, kT0).text == "no message " + qid(1) + " in the queue");
  CHECK(w.core.command({"hold", "../x"}, kT0).text.starts_with("not a queue id"));
}

TEST_CASE(
    "quarantine: a message a mail filter quarantined is taken in on hold, released by the administrator") {
  World w;
  auto m = message(1, {"bob@example.test"});
  m->hold = true;  // from_envelope: the file's H record
  m->hold_reason = "virus found";
  w.submit(std::move(m));
  REQUIRE(w.host.answers.size() == 1);
  CHECK(w.host.answers[0].v.outcome == Outcome::kOk);  // accepted: the client's 250
  w.core.wake(kT0 + 10000);
  w.core.dispatch(kT0 + 10000);
  CHECK(w.host.sent.empty());
  CHECK(w.core.command({"flush", ""}, kT0).count == 0);  // a flush does not release it
  CHECK(w.core.command({"release", qid(1)}, kT0 + 10000).ok);
  w.core.dispatch(kT0 + 10000);
  REQUIRE(w.host.sent.size() == 1);
  CHECK(w.core.find(qid(1))->has_record);  // released for good: the record wins over the file
}

TEST_CASE("agents: a protocol violation is refused; recipients wait for a missing agent") {
  FakeHost host;
  Core core(host, settings());
  core.linked(1, 1, message(1, {"bob@remote.test", "carol@example.test"}));
  core.commit();
  core.synced(0);
  core.dispatch(kT0);
  CHECK(host.sent.empty());
  core.agent_ready(100, Transport::kLocal);
  core.dispatch(kT0);
  REQUIRE(host.sent.size() == 1);
  CHECK(host.sent[0].d.recipients == std::vector<std::string>{"carol@example.test"});
  ipc::DeliverDone bad;
  bad.delivery_id = 999;
  CHECK_FALSE(core.delivered(100, bad, kT0));
  bad.delivery_id = host.sent[0].d.delivery_id;
  CHECK_FALSE(core.delivered(100, bad, kT0));  // no verdicts
  CHECK_FALSE(core.delivered(200, bad, kT0));  // not its delivery
}

TEST_CASE("a listing page fits in one frame whatever the message, and says what it left out") {
  World w;
  std::vector<std::string> rcpts;
  for (int i = 0; i < 700; ++i)
    rcpts.push_back("r" + std::to_string(i) + "-" + std::string(180, 'x') + "@remote.test");
  w.core.linked(1, 1, message(1, rcpts));
  w.core.linked(1, 2, message(2, {"a@remote.test"}));
  w.core.commit();
  w.core.synced(0);
  auto page = w.core.list(ipc::QueueList{});
  REQUIRE(page.entries.size() >= 1);
  CHECK(page.entries[0].id == qid(1));
  CHECK(page.entries[0].rcpts_omitted > 0);
  CHECK(page.entries[0].rcpts.size() + page.entries[0].rcpts_omitted == 700);
  CHECK(ipc::encode_frame(page).size() <= ipc::kMaxFrame);
  ipc::QueueList next;
  next.after = page.entries.back().id;
  auto rest = w.core.list(next);
  if (page.more) REQUIRE(rest.entries.size() == 1);
  ipc::QueueList one;
  one.only = qid(1);
  CHECK(ipc::encode_frame(w.core.list(one)).size() <= ipc::kMaxFrame);
}
