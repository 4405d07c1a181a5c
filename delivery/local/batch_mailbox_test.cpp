// Tests for the mailbox features of the local agent's batch (batch.hpp): quotas (defer,
// bounce, maildirsize bookkeeping, the "mailbox full" flag, the warning and its
// exemption), new messages (forwards with SRS, fan-outs, auto-replies) handed to a queue
// manager over the real submit protocol, and what happens when that fails. The queue
// manager here is a small thread that speaks mailbag-submit on a real socket and reads
// the passed files with the real envelope parser.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "common/accounts/accounts.hpp"
#include "common/io/fdio.hpp"
#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/ipc/socket.hpp"
#include "common/maildir/maildirsize.hpp"
#include "common/maildir/quota_flags.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/submit.hpp"
#include "delivery/local/batch.hpp"
#include "delivery/local/outgoing.hpp"
#include "delivery/local/test_support.hpp"
#include "delivery/test_support.hpp"

using namespace delivery::local;
using common::mail::Outcome;
using delivery::testing::BlockingSubmitter;
using delivery::testing::list_dir;
using delivery::testing::make_queued;
using delivery::testing::SubmitPeer;
using delivery::testing::TempDir;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";

// A Submitter that keeps the batch waiting until the test answers, as the queue
// manager does on the agent's event loop.
class HeldSubmitter : public Submitter {
 public:
  explicit HeldSubmitter(std::string incoming) : drop_(common::io::UniqueFd(), std::move(incoming)) {}
  common::Result<common::spool::QueueFileWriter> create(const common::spool::Envelope& env) override {
    return drop_.create(env);
  }
  void submit(std::vector<common::io::UniqueFd> files, Done done) override {
    held = files.size();
    done_ = std::move(done);
  }
  void answer(const common::Status& st) {
    auto d = std::move(done_);
    d(std::vector<common::Status>(held, st));
  }
  std::size_t held = 0;

 private:
  common::spool::DropDir drop_;
  Done done_;
};

struct World {
  TempDir dir;
  std::string db = dir.path + "/accounts.mdb";
  std::string mail = dir.path + "/mail";
  std::string incoming = dir.path + "/incoming";
  std::string flags = dir.path + "/quota";
  std::string sock = dir.path + "/submit";
  World() {
    REQUIRE(common::io::make_dirs(mail, 0770).is_ok());
    REQUIRE(common::io::make_dirs(incoming, 0770).is_ok());
    REQUIRE(common::io::make_dirs(flags, 0750).is_ok());
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    common::accounts::Domain d;
    d.name = "example.org";
    d.max_message_size = 20000;
    REQUIRE((*a)->put_domain(d).is_ok());
    for (const char* n : {"alice", "bob"}) {
      common::accounts::User u;
      u.address = std::string(n) + "@example.org";
      u.maildir = std::string("example.org/") + n;
      if (u.address == "alice@example.org") u.quota = 3000;
      if (u.address == "bob@example.org") u.forward = {"far@away.example"};
      REQUIRE((*a)->put_user(u).is_ok());
    }
  }
  std::string md(const std::string& user) const { return mail + "/example.org/" + user; }
  std::vector<std::string> inbox(const std::string& user) const { return list_dir(md(user) + "/new"); }
};

struct Agent {
  Recipients recipients;
  NameGenerator names{"mx.example.org"};
  BlockingSubmitter submitter;
  BatchDeliverer del;
  Agent(World& w, bool bounce = false, bool with_submitter = true)
      : recipients([&] {
          RecipientsConfig c;
          c.accounts_path = w.db;
          c.mail_root = w.mail;
          c.srs_secret = kSecret;
          return c;
        }()),
        submitter(w.incoming, w.sock),
        del(recipients, names, with_submitter ? &submitter : nullptr, [&] {
          LocalPolicy p;
          p.hostname = "mx.example.org";
          p.quota_bounce = bounce;
          p.quota_flags_dir = w.flags;
          p.srs_secret = kSecret;
          return p;
        }()) {}
  std::vector<common::ipc::DeliverDone> deliver(
      World& w, const std::vector<std::string>& rcpts, const std::string& body,
      const std::string& sender = "s@sender.example", const std::string& protocol = "ESMTP",
      const std::string& client = "", common::spool::Origin origin = common::spool::Origin::kSubmitter) {
    auto q = make_queued(w.dir.path, sender, rcpts, body, 1, protocol, client);
    q.deliver.origin = origin;
    std::vector<Request> batch;
    batch.push_back(Request{std::move(q.deliver), std::move(q.fd)});
    return del.deliver(batch);
  }
};

std::string body(std::size_t size, const std::string& extra = "") {
  std::string b = "Subject: t\nTo: alice@example.org\n" + extra + "\n";
  while (b.size() < size) b += "0123456789012345678901234567890123456789\n";
  return b;
}

}  // namespace

TEST_CASE("quota: fits, then deferred with 4.2.2; maildirsize kept; the full flag") {
  World w;
  SubmitPeer qmgr(w.sock);
  Agent a(w);
  auto r1 = a.deliver(w, {"alice@example.org"}, body(1400));
  CHECK(r1[0].results[0].outcome == Outcome::kOk);
  auto ms = common::maildir::read_usage(w.md("alice"), {3000, 0}, {false, ::time(nullptr)});
  REQUIRE(ms.is_ok());
  CHECK_FALSE(ms->recalculated);  // the file exists and is current
  CHECK(ms->usage.bytes > 1400);
  CHECK(ms->usage.count == 1);
  auto r2 = a.deliver(w, {"alice@example.org"}, body(2500));  // past the quota and its 10 % grace
  CHECK(r2[0].results[0].outcome == Outcome::kTemporary);
  CHECK(r2[0].results[0].status == "4.2.2");
  CHECK(w.inbox("alice").size() == 1);
  CHECK(list_dir(w.md("alice") + "/tmp").empty());
  CHECK_FALSE(common::maildir::has_full_flag(w.flags, "alice@example.org"));  // not full: that one is big
  CHECK(a.deliver(w, {"alice@example.org"}, body(1400))[0].results[0].outcome == Outcome::kOk);
  // The last message may take the mailbox a little over (grace): then it is full.
  CHECK(a.deliver(w, {"alice@example.org"}, body(200))[0].results[0].outcome == Outcome::kOk);
  CHECK(common::maildir::has_full_flag(w.flags, "alice@example.org"));
  auto r4 = a.deliver(w, {"alice@example.org"}, body(100));
  CHECK(r4[0].results[0].status == "4.2.2");
  auto total = common::maildir::read_usage(w.md("alice"), {3000, 0}, {false, ::time(nullptr)});
  auto real = common::maildir::scan_maildir(w.md("alice"));
  REQUIRE(total.is_ok());
  REQUIRE(real.is_ok());
  CHECK(total->usage.bytes == real->bytes);
  CHECK(total->usage.count == 3);
  // The quota warning went out once, when the 90 % mark was passed.
  auto got = qmgr.got();
  REQUIRE(got.size() == 1);
  CHECK(got[0].env.client == kClientQuotaWarning);
  CHECK(got[0].env.sender.empty());
  CHECK(got[0].env.recipients == std::vector<std::string>{"alice@example.org"});
  CHECK(::access((w.md("alice") + "/" + kWarnedFile).c_str(), F_OK) == 0);
  // The warning's labels from anyone but this agent (the queue manager says who wrote the
  // file) do not get it into the full mailbox.
  auto forged = a.deliver(w, {"alice@example.org"}, got[0].message, "", "local", kClientQuotaWarning);
  CHECK(forged[0].results[0].status == "4.2.2");
  // The warning itself is delivered although the mailbox is full.
  auto warn = a.deliver(w, {"alice@example.org"}, got[0].message, "", "local", kClientQuotaWarning,
                        common::spool::Origin::kLocalAgent);
  CHECK(warn[0].results[0].outcome == Outcome::kOk);
  // Anything else from the null sender is not.
  auto fake = a.deliver(w, {"alice@example.org"}, got[0].message, "", "local", "uid 1000 (mallory)");
  CHECK(fake[0].results[0].status == "4.2.2");
  // Room made elsewhere (a mail client removed everything): the re-check clears the flag.
  for (const auto& f : list_dir(w.md("alice") + "/new")) ::unlink((w.md("alice") + "/new/" + f).c_str());
  ::unlink((w.md("alice") + "/maildirsize").c_str());
  a.del.recheck_full_flags(::time(nullptr));
  CHECK_FALSE(common::maildir::has_full_flag(w.flags, "alice@example.org"));
  // Below the mark again: the marker goes with the next delivery.
  CHECK(a.deliver(w, {"alice@example.org"}, body(300))[0].results[0].outcome == Outcome::kOk);
  CHECK(::access((w.md("alice") + "/" + kWarnedFile).c_str(), F_OK) != 0);
}

TEST_CASE("quota: bounce when configured; the domain's size limit") {
  World w;
  SubmitPeer qmgr(w.sock);
  Agent a(w, true);
  auto r = a.deliver(w, {"alice@example.org"}, body(3500));
  CHECK(r[0].results[0].outcome == Outcome::kPermanent);
  CHECK(r[0].results[0].status == "5.2.2");
  auto big = a.deliver(w, {"bob@example.org"}, body(25000));
  CHECK(big[0].results[0].outcome == Outcome::kPermanent);
  CHECK(big[0].results[0].status == "5.3.4");
  CHECK(qmgr.got().empty());  // nothing forwarded for a refused message
}

TEST_CASE("forwarding: a copy here, the forward queued with an SRS sender and trace lines") {
  World w;
  SubmitPeer qmgr(w.sock);
  Agent a(w);
  std::string b = body(500);
  auto r = a.deliver(w, {"bob@example.org"}, b);
  CHECK(r[0].results[0].outcome == Outcome::kOk);
  CHECK(r[0].results[0].text.find("forwarded as ") != std::string::npos);
  CHECK(w.inbox("bob").size() == 1);
  auto got = qmgr.got();
  REQUIRE(got.size() == 1);
  CHECK(got[0].env.sender.starts_with("SRS0="));
  CHECK(got[0].env.sender.ends_with("=sender.example=s@example.org"));
  CHECK(got[0].env.recipients == std::vector<std::string>{"far@away.example"});
  CHECK(got[0].message.starts_with("Received: by mx.example.org (Mailbag local) id " + got[0].env.queue_id));
  CHECK(got[0].message.find("\nDelivered-To: bob@example.org\n") != std::string::npos);
  CHECK(got[0].message.ends_with(b));
  // Mail from our own domains keeps its sender (SPF passes from here anyway), and so
  // does the null sender.
  a.deliver(w, {"bob@example.org"}, b, "alice@example.org");
  a.deliver(w, {"bob@example.org"}, b, "");
  got = qmgr.got();
  REQUIRE(got.size() == 3);
  CHECK(got[1].env.sender == "alice@example.org");
  CHECK(got[2].env.sender.empty());
}

TEST_CASE("a forward the queue manager refuses defers the recipient and leaves no copy") {
  World w;
  SubmitPeer qmgr(w.sock);
  qmgr.refuse = true;
  Agent a(w);
  auto r = a.deliver(w, {"bob@example.org", "alice@example.org"}, body(300));
  CHECK(r[0].results[0].outcome == Outcome::kTemporary);
  CHECK(r[0].results[0].text.find("forwarded could not be queued") != std::string::npos);
  CHECK(r[0].results[1].outcome == Outcome::kOk);
  CHECK(w.inbox("bob").empty());
  CHECK(list_dir(w.md("bob") + "/tmp").empty());
  CHECK(w.inbox("alice").size() == 1);
}

TEST_CASE("no queue manager, no submitter: forwards wait, plain deliveries go on") {
  World w;
  Agent down(w);  // nothing listens on the submit socket
  auto r = down.deliver(w, {"bob@example.org", "alice@example.org"}, body(300));
  CHECK(r[0].results[0].outcome == Outcome::kTemporary);
  CHECK(r[0].results[1].outcome == Outcome::kOk);
  Agent none(w, false, false);
  auto n = none.deliver(w, {"bob@example.org"}, body(300));
  CHECK(n[0].results[0].outcome == Outcome::kTemporary);
}

TEST_CASE("too many Received fields: every recipient bounces with 5.4.6") {
  World w;
  Agent a(w);
  std::string hops;
  for (int i = 0; i < 31; ++i) hops += "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\n";
  auto r = a.deliver(w, {"alice@example.org", "bob@example.org"}, body(300, hops));
  for (const auto& v : r[0].results) {
    CHECK(v.outcome == Outcome::kPermanent);
    CHECK(v.status == "5.4.6");
  }
  std::string thirty;
  for (int i = 0; i < 30; ++i) thirty += "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\n";
  CHECK(a.deliver(w, {"alice@example.org"}, body(300, thirty))[0].results[0].outcome == Outcome::kOk);
}

TEST_CASE("check_duplicates: a copy an earlier attempt delivered is found, not written again") {
  World w;
  SubmitPeer qmgr(w.sock);
  Agent a(w);
  auto q = make_queued(w.dir.path, "s@sender.example", {"alice@example.org", "bob@example.org"}, body(300));
  std::string self = "/proc/self/fd/" + std::to_string(q.fd.get());
  auto again_fd = [&] { return common::io::UniqueFd(::open(self.c_str(), O_RDONLY | O_CLOEXEC)); };
  std::vector<Request> first;
  common::ipc::Deliver only_alice = q.deliver;
  only_alice.recipients = {"alice@example.org"};
  first.push_back(Request{only_alice, again_fd()});
  REQUIRE(a.del.deliver(first)[0].results[0].outcome == Outcome::kOk);
  REQUIRE(w.inbox("alice").size() == 1);
  CHECK(w.inbox("alice")[0].find(delivery_tag(q.deliver.queue_id, "alice@example.org") + ".") !=
        std::string::npos);
  // The verdict was lost; the queue manager sends both again and asks to check.
  std::vector<Request> retry;
  common::ipc::Deliver both = q.deliver;
  both.check_duplicates = true;
  retry.push_back(Request{both, again_fd()});
  auto r = a.del.deliver(retry);
  CHECK(r[0].results[0].outcome == Outcome::kOk);
  CHECK(r[0].results[0].text.find("earlier attempt") != std::string::npos);
  CHECK(r[0].results[1].outcome == Outcome::kOk);
  CHECK(w.inbox("alice").size() == 1);  // not twice
  CHECK(w.inbox("bob").size() == 1);
  CHECK(qmgr.got().size() == 1);  // bob's forward, once
  // Without the flag nothing is looked up (a second message is a second message).
  std::vector<Request> plain;
  plain.push_back(Request{only_alice, again_fd()});
  CHECK(a.del.deliver(plain)[0].results[0].outcome == Outcome::kOk);
  CHECK(w.inbox("alice").size() == 2);
}

TEST_CASE("a forward's submission outstanding: the batch waits, its files stay in tmp/") {
  World w;
  Recipients recipients([&] {
    RecipientsConfig c;
    c.accounts_path = w.db;
    c.mail_root = w.mail;
    c.srs_secret = kSecret;
    return c;
  }());
  NameGenerator names("mx.example.org");
  for (bool ok : {true, false}) {
    CAPTURE(ok);
    HeldSubmitter held(w.incoming);
    BatchDeliverer del(recipients, names, &held, LocalPolicy{});
    std::size_t bob_before = w.inbox("bob").size();
    auto q = make_queued(w.dir.path, "s@sender.example", {"bob@example.org"}, body(300));
    std::vector<Request> batch;
    batch.push_back(Request{std::move(q.deliver), std::move(q.fd)});
    std::optional<std::vector<common::ipc::DeliverDone>> answers;
    del.deliver(std::move(batch), [&](std::vector<common::ipc::DeliverDone> a) { answers = std::move(a); });
    // bob keeps a copy and forwards one: the forward is out, nothing is answered yet.
    REQUIRE(held.held == 1);
    CHECK_FALSE(answers.has_value());
    CHECK(w.inbox("bob").size() == bob_before);
    CHECK(list_dir(w.md("bob") + "/tmp").size() == 1);
    // Meanwhile another batch without new messages is answered at once.
    auto p = make_queued(w.dir.path, "s@sender.example", {"alice@example.org"}, body(300));
    std::vector<Request> other;
    other.push_back(Request{std::move(p.deliver), std::move(p.fd)});
    bool other_done = false;
    del.deliver(std::move(other), [&](std::vector<common::ipc::DeliverDone> a) {
      other_done = a.size() == 1 && a[0].results[0].outcome == Outcome::kOk;
    });
    CHECK(other_done);
    held.answer(ok ? common::Status::ok()
                   : common::Status::error("the queue manager did not answer in time", ETIMEDOUT));
    REQUIRE(answers.has_value());
    const auto& v = (*answers)[0].results[0];
    if (ok) {
      CHECK(v.outcome == Outcome::kOk);
      CHECK(v.text.find("forwarded as") != std::string::npos);
      CHECK(w.inbox("bob").size() == bob_before + 1);
    } else {
      CHECK(v.outcome == Outcome::kTemporary);
      CHECK(v.text.find("did not answer in time") != std::string::npos);
      CHECK(w.inbox("bob").size() == bob_before);
    }
    CHECK(list_dir(w.md("bob") + "/tmp").empty());
  }
}
