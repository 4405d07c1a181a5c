// The fake Host and the World the queue manager's Core scenario tests drive (core_test.cpp,
// core_dsn_test.cpp): what Core asks of the spool and the sockets is recorded, with no file
// system, sockets or event loop.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/ipc/codec.hpp"
#include "queue-manager/core.hpp"

namespace qmgr::testing {

using common::mail::Outcome;
using common::mail::Verdict;
namespace ipc = common::ipc;

struct Sent {
  std::uint64_t agent;
  ipc::Deliver d;
};
struct Turn {
  std::uint64_t agent;
  ipc::Turn t;
  int fd;
};
struct Answer {
  std::uint64_t conn;
  Verdict v;
  std::string queue_id;
};
struct Notice {
  std::string about, to, protocol;
  NoticeKind kind;
  std::size_t rcpts;
};

class FakeHost : public Host {
 public:
  common::Result<Transport> classify(const std::string& a) override {
    if (a.find('@') == std::string::npos) return common::Status::error("no domain");
    return a.ends_with("@example.test") ? Transport::kLocal : Transport::kRemote;
  }
  FileState send_delivery(std::uint64_t agent, const ipc::Deliver& d, bool, std::uint64_t) override {
    if (auto it = files.find(d.queue_id); it != files.end() && it->second != FileState::kOk)
      return it->second;
    sent.push_back(Sent{agent, d});
    return FileState::kOk;
  }
  void send_turn(std::uint64_t agent, const ipc::Turn& t, common::io::UniqueFd conn) override {
    turns.push_back(Turn{agent, t, conn.get()});
  }
  void answer_submit(std::uint64_t conn, std::uint64_t, const Verdict& v, const std::string& id) override {
    answers.push_back(Answer{conn, v, id});
  }
  std::optional<std::string> submitter(std::uint64_t conn) override {
    if (gone.count(conn)) return std::nullopt;
    return std::string("smtpd");
  }
  common::Status unlink(const std::string& id) override {
    unlinked.push_back(id);
    ops.push_back("unlink " + id);
    return common::Status::ok();
  }
  void unlink_later(const std::string& id) override {
    unlinked.push_back(id);
    ops.push_back("unlink-later " + id);
  }
  void move_aside(const std::string& id, const std::string&) override { moved_aside.push_back(id); }
  std::optional<std::uint64_t> file_size(const std::string& name) override {
    auto it = disk.find(name);
    if (it == disk.end()) return std::nullopt;
    return it->second->data_offset + it->second->data_size;
  }
  common::Result<std::unique_ptr<Message>> read_queue_file(const std::string& name) override {
    auto it = disk.find(name);
    if (it == disk.end() || it->second->rcpts.empty()) return common::Status::error("bad magic");
    auto m = std::make_unique<Message>(*it->second);
    for (auto& r : m->rcpts) r = Rcpt{r.address, RcptState::kPending, 0, "", ""};
    return m;
  }
  // The NOTIFY bits the "files" carry (RFC 3461 4.1), by queue id.
  std::map<std::string, std::vector<std::uint8_t>> notify;
  int dsn_reads = 0;
  std::vector<std::uint8_t> dsn_notify(const Message& m) override {
    ++dsn_reads;
    auto it = notify.find(m.id);
    return it == notify.end() ? std::vector<std::uint8_t>() : it->second;
  }
  std::unique_ptr<Message> write_notice(const Message& m, NoticeKind kind,
                                        const std::vector<const Rcpt*>& rcpts, const std::string& to,
                                        const std::string& protocol, std::int64_t now,
                                        std::int64_t) override {
    notices.push_back(Notice{m.id, to, protocol, kind, rcpts.size()});
    ops.push_back("notice " + m.id);
    auto n = std::make_unique<Message>();
    char id[17];
    std::snprintf(id, sizeof id, "F%015X", static_cast<unsigned>(notices.size()));
    n->id = id;
    n->arrival = now;
    n->protocol = protocol;
    n->rcpts.push_back(Rcpt{to, RcptState::kPending, 0, "", ""});
    return n;
  }
  void state_put(const Message& m) override {
    records[m.id] = m.attempts;
    ops.push_back("put " + m.id);
  }
  void state_erase(const std::string& id) override {
    records.erase(id);
    ops.push_back("erase " + id);
  }
  void start_sync() override { ++syncs; }
  void request_commit() override { ++commits; }
  void request_commit_later() override {}
  void request_dispatch() override {}
  void wake_at(std::int64_t at) override { wake = at; }

  std::vector<Sent> sent;
  std::vector<Turn> turns;
  std::vector<Answer> answers;
  std::set<std::uint64_t> gone;
  std::vector<std::string> unlinked, moved_aside, ops;
  std::vector<Notice> notices;
  std::map<std::string, FileState> files;
  std::map<std::string, std::unique_ptr<Message>> disk;  // queue files, for recovery
  std::map<std::string, std::uint32_t> records;
  int syncs = 0, commits = 0;
  std::int64_t wake = 0;
};

constexpr std::int64_t kT0 = 1'000'000;

inline CoreSettings settings() {
  CoreSettings s;
  s.retry = RetryPolicy{300, 3600, 86400};
  s.max_data_size = 1 << 20;
  s.postmaster = "postmaster@mx.example.test";
  s.etrn = EtrnLimits{60, 3};
  return s;
}

inline std::string qid(int n) {
  char b[17];
  std::snprintf(b, sizeof b, "%016X", static_cast<unsigned>(n));
  return b;
}

inline std::unique_ptr<Message> message(int n, std::vector<std::string> rcpts,
                                        std::string sender = "a@sender.test",
                                        std::string protocol = "esmtp") {
  auto m = std::make_unique<Message>();
  m->id = qid(n);
  m->arrival = kT0;
  m->sender = std::move(sender);
  m->protocol = std::move(protocol);
  m->data_size = 100;
  for (auto& r : rcpts) m->rcpts.push_back(Rcpt{r, RcptState::kPending, 0, "", ""});
  return m;
}

// A Core with one local (id 100) and one remote (id 200) agent.
struct World {
  FakeHost host;
  Core core{host, settings()};
  World() {
    core.agent_ready(100, Transport::kLocal);
    core.agent_ready(200, Transport::kRemote);
  }
  // Submitted, committed and synced: answered and ready.
  void submit(std::unique_ptr<Message> m, std::int64_t now = kT0) {
    core.linked(1, 7, std::move(m));
    core.commit();
    core.synced(0);
    core.dispatch(now);
  }
  common::Status verdict(const Sent& s, Outcome o, std::int64_t now) {
    ipc::DeliverDone done;
    done.delivery_id = s.d.delivery_id;
    const char* status = o == Outcome::kOk ? "2.0.0" : o == Outcome::kTemporary ? "4.4.1" : "5.1.1";
    for (std::size_t i = 0; i < s.d.recipients.size(); ++i)
      done.results.push_back(Verdict{o, status, "text"});
    return core.delivered(s.agent, done, now);
  }
  const Sent& last() {
    REQUIRE_FALSE(host.sent.empty());
    return host.sent.back();
  }
};

// Deferral rounds as the daemon drives them: dispatch at `now`, answer the newest Deliver
// of `agent` with `results`, call `after` (if any) with the time of that answer, then wake
// at the time Core chose for message `id`'s next try. Returns that time.
inline std::int64_t defer_rounds(Core& core, FakeHost& host, std::uint64_t agent, const std::string& id,
                                 int rounds, const std::vector<Verdict>& results, std::int64_t now,
                                 const std::function<void(std::int64_t)>& after = {}) {
  for (int i = 0; i < rounds; ++i) {
    core.dispatch(now);
    REQUIRE_FALSE(host.sent.empty());
    ipc::DeliverDone done;
    done.delivery_id = host.sent.back().d.delivery_id;
    done.results = results;
    REQUIRE(core.delivered(agent, done, now));
    if (after) after(now);
    now = core.find(id)->next_try;
    core.wake(now);
  }
  return now;
}

}  // namespace qmgr::testing
