// Unit tests for the in-memory queue and the persistent state store.
#include "queue-manager/queue.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "queue-manager/state_db.hpp"

using namespace qmgr;

namespace {

std::unique_ptr<Message> mk(const std::string& id, std::int64_t next_try = 0) {
  auto m = std::make_unique<Message>();
  m->id = id;
  m->next_try = next_try;
  m->rcpts.push_back(Rcpt{"a@example.test", RcptState::kPending, 0, "", ""});
  return m;
}

}  // namespace

TEST_CASE("ready list is FIFO and skips removed or rescheduled messages") {
  Queue q;
  Message* a = q.insert(mk("A"));
  Message* b = q.insert(mk("B"));
  Message* c = q.insert(mk("C"));
  q.make_ready(a);
  q.make_ready(b);
  q.make_ready(c);
  q.remove("B");
  c->next_try = 50;
  q.defer(c);  // the ready entry for C is now stale
  CHECK(q.pop_ready() == a);
  CHECK(q.pop_ready() == nullptr);
  CHECK(q.size() == 2);
}

TEST_CASE("wake moves due messages to ready and reports the next time") {
  Queue q;
  Message* a = q.insert(mk("A", 100));
  Message* b = q.insert(mk("B", 200));
  q.defer(a);
  q.defer(b);
  CHECK(q.wake(50) == std::optional<std::int64_t>(100));
  CHECK(q.pop_ready() == nullptr);
  CHECK(q.wake(150) == std::optional<std::int64_t>(200));
  CHECK(q.pop_ready() == a);
  CHECK(q.wake(250) == std::nullopt);
  CHECK(q.pop_ready() == b);
}

TEST_CASE("flush makes matching deferred messages ready, never held ones") {
  Queue q;
  Message* a = q.insert(mk("A", 1000));
  Message* b = q.insert(mk("B", 1000));
  Message* c = q.insert(mk("C", 1000));
  c->hold = true;
  q.defer(a);
  q.defer(b);
  q.defer(c);
  CHECK(q.flush([](const Message& m) { return m.id != "B"; }) == 1);
  CHECK(q.pop_ready() == a);
  CHECK(q.pop_ready() == nullptr);
}

TEST_CASE("state records survive a reopen; erase removes them") {
  char tmpl[] = "/tmp/mbq-test-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string path = std::string(tmpl) + "/queue.mdb";
  {
    auto db = StateDb::open(path);
    REQUIRE(db);
    Message m = *mk("0000000000001ABC", 12345);
    m.rcpts[0].state = RcptState::kDone;
    m.rcpts.push_back(Rcpt{"b@example.test", RcptState::kPending, 2, "4.2.2", "mailbox full"});
    m.attempts = 2;
    (*db)->stage_put(m);
    (*db)->stage_put(*mk("0000000000001ABD"));
    REQUIRE((*db)->commit());
    (*db)->stage_erase("0000000000001ABD");
    REQUIRE((*db)->commit());
    CHECK_FALSE((*db)->dirty());
  }
  auto db = StateDb::open(path);
  REQUIRE(db);
  std::vector<Message> got;
  REQUIRE((*db)->load_all([&](Message&& m) { got.push_back(std::move(m)); },
                          [](const std::string&) { FAIL("bad"); }));
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == "0000000000001ABC");
  CHECK(got[0].next_try == 12345);
  CHECK(got[0].attempts == 2);
  REQUIRE(got[0].rcpts.size() == 2);
  CHECK(got[0].rcpts[0].state == RcptState::kDone);
  CHECK(got[0].rcpts[1].text == "mailbox full");
  std::string cmd = std::string("rm -rf ") + tmpl;
  CHECK(system(cmd.c_str()) == 0);
}
