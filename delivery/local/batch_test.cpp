// Tests for the local agent's group commit and its verdicts, against a real accounts
// database, real queue files and real Maildirs in a temporary directory.
#include "delivery/local/batch.hpp"

#include <doctest/doctest.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/accounts/accounts.hpp"
#include "common/io/fdio.hpp"
#include "common/spool/fault.hpp"
#include "delivery/test_support.hpp"

using namespace delivery::local;
using common::mail::Outcome;
using delivery::testing::list_dir;
using delivery::testing::make_queued;
using delivery::testing::TempDir;

namespace {

// A data directory with example.org and a few users; the writable handle is closed
// before the agent opens the database read-only (LMDB wants one env per process).
struct World {
  TempDir dir;
  std::string db = dir.path + "/accounts.mdb";
  std::string mail = dir.path + "/mail";
  World() {
    REQUIRE(common::io::make_dirs(mail, 0770).is_ok());
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    common::accounts::Domain d;
    d.name = "example.org";
    REQUIRE((*a)->put_domain(d).is_ok());
    add(**a, "alice", false, "example.org/alice");
    add(**a, "bob", false, "example.org/bob");
    add(**a, "carol", true, "example.org/carol");
    add(**a, "evil", false, "example.org/../../etc");
    add(**a, "blocked", false, "example.org/blocked");
  }
  static void add(common::accounts::Accounts& a, const std::string& local, bool disabled,
                  const std::string& maildir) {
    common::accounts::User u;
    u.address = local + "@example.org";
    u.maildir = maildir;
    u.disabled = disabled;
    REQUIRE(a.put_user(u).is_ok());
  }
  std::vector<std::string> inbox(const std::string& user) const {
    return list_dir(mail + "/example.org/" + user + "/new");
  }
};

Request request(const std::string& dir, const std::vector<std::string>& rcpts, std::uint64_t id = 1,
                const std::string& body = "Subject: t\n\nhello\n") {
  auto q = make_queued(dir, "sender@example.net", rcpts, body, id);
  return Request{std::move(q.deliver), std::move(q.fd)};
}

}  // namespace

TEST_CASE("one batch: delivered, unknown, disabled, postmaster, bad path, in order") {
  World w;
  Recipients recipients(w.db, w.mail);
  NameGenerator names("mx.example.org");
  BatchDeliverer del(recipients, names);
  std::vector<Request> batch;
  batch.push_back(request(w.dir.path,
                          {"alice@example.org", "nobody@example.org", "carol@example.org",
                           "postmaster@example.org", "evil@example.org", "Bob@Example.ORG"},
                          11));
  auto out = del.deliver(batch);
  REQUIRE(out.size() == 1);
  CHECK(out[0].delivery_id == 11);
  const auto& r = out[0].results;
  REQUIRE(r.size() == 6);
  CHECK(r[0].outcome == Outcome::kOk);
  CHECK(r[1].outcome == Outcome::kPermanent);
  CHECK(r[1].status == "5.1.1");  // RFC 3463 3.2: bad destination mailbox address
  CHECK(r[2].outcome == Outcome::kPermanent);
  CHECK(r[2].status == "5.2.1");  // RFC 3463 3.3: mailbox disabled
  CHECK(r[3].status == "5.1.1");
  CHECK(r[4].outcome == Outcome::kTemporary);  // damaged record: never bounce for it
  CHECK(r[5].outcome == Outcome::kOk);         // local part case folds to the user key
  REQUIRE(w.inbox("alice").size() == 1);
  REQUIRE(w.inbox("bob").size() == 1);
  auto text = common::io::read_file(w.mail + "/example.org/bob/new/" + w.inbox("bob")[0]);
  REQUIRE(text.is_ok());
  CHECK(text->starts_with("Return-Path: <sender@example.net>\nDelivered-To: bob@example.org\nSubject: t\n"));
  CHECK(list_dir(w.mail + "/example.org/alice/tmp").empty());
}

TEST_CASE("several requests in one batch all land, answered in request order") {
  World w;
  Recipients recipients(w.db, w.mail);
  NameGenerator names("h");
  BatchDeliverer del(recipients, names);
  std::vector<Request> batch;
  for (std::uint64_t i = 1; i <= 50; ++i)
    batch.push_back(request(w.dir.path, {"alice@example.org", "bob@example.org"}, i));
  auto out = del.deliver(batch);
  REQUIRE(out.size() == 50);
  for (std::uint64_t i = 0; i < 50; ++i) {
    CHECK(out[i].delivery_id == i + 1);
    CHECK(out[i].results.size() == 2);
    CHECK(out[i].results[0].outcome == Outcome::kOk);
  }
  CHECK(w.inbox("alice").size() == 50);
  CHECK(w.inbox("bob").size() == 50);
}

TEST_CASE("both sync strategies (fsync per file, syncfs per batch) deliver everything") {
  for (std::size_t syncfs_min : {std::size_t{1}, SIZE_MAX}) {
    CAPTURE(syncfs_min);
    World w;
    Recipients recipients(w.db, w.mail);
    NameGenerator names("h");
    BatchDeliverer del(recipients, names, syncfs_min);
    std::vector<Request> batch;
    for (std::uint64_t i = 1; i <= 10; ++i)
      batch.push_back(request(w.dir.path, {"alice@example.org", "bob@example.org", "nobody@example.org"}, i));
    auto out = del.deliver(batch);
    REQUIRE(out.size() == 10);
    for (const auto& a : out) {
      CHECK(a.results[0].outcome == Outcome::kOk);
      CHECK(a.results[1].outcome == Outcome::kOk);
      CHECK(a.results[2].outcome == Outcome::kPermanent);
    }
    CHECK(w.inbox("alice").size() == 10);
    CHECK(w.inbox("bob").size() == 10);
    CHECK(list_dir(w.mail + "/example.org/alice/tmp").empty());
  }
}

TEST_CASE("more drafts than kMaxOpenDrafts: files are re-opened for fsync") {
  World w;
  Recipients recipients(w.db, w.mail);
  NameGenerator names("h");
  BatchDeliverer del(recipients, names);
  std::vector<Request> batch;
  std::vector<std::string> rcpts(BatchDeliverer::kMaxOpenDrafts + 20, "alice@example.org");
  batch.push_back(request(w.dir.path, rcpts));
  auto out = del.deliver(batch);
  REQUIRE(out[0].results.size() == rcpts.size());
  for (const auto& v : out[0].results) CHECK(v.outcome == Outcome::kOk);
  CHECK(w.inbox("alice").size() == rcpts.size());
}

TEST_CASE("bad requests get verdicts, never a crash") {
  World w;
  Recipients recipients(w.db, w.mail);
  NameGenerator names("h");
  BatchDeliverer del(recipients, names);
  std::vector<Request> batch;
  batch.push_back(request(w.dir.path, {"alice@example.org"}, 1));
  batch[0].fd.reset();  // no fd with the request
  batch.push_back(request(w.dir.path, {"alice@example.org"}, 2));
  int p[2];
  REQUIRE(::pipe(p) == 0);
  ::close(p[1]);
  batch[1].fd.reset(p[0]);  // not a regular file
  batch.push_back(request(w.dir.path, {"alice@example.org"}, 3));
  batch[2].msg.data_size += 1;  // range past the end of the file
  batch.push_back(request(w.dir.path, {"alice@example.org"}, 4));
  batch[3].msg.sender = "a\r\nX-Injected: yes";  // would break the Return-Path line
  batch.push_back(request(w.dir.path, {"x@example.org", "alice@example.org"}, 5));
  batch[4].msg.recipients[0] = "not an address";
  batch.push_back(request(w.dir.path, {"alice@example.org"}, 6));
  batch[5].msg.recipients.clear();  // nothing to deliver: an empty answer
  auto out = del.deliver(batch);
  REQUIRE(out.size() == 6);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(out[i].results.size() == 1);
    CHECK(out[i].results[0].outcome == Outcome::kTemporary);
    CHECK(out[i].results[0].status == "4.3.0");
  }
  CHECK(out[4].results[0].outcome == Outcome::kPermanent);
  CHECK(out[4].results[0].status == "5.1.3");
  CHECK(out[4].results[1].outcome == Outcome::kOk);
  CHECK(out[5].results.empty());
  CHECK(w.inbox("alice").size() == 1);  // only request 5's second recipient
}

TEST_CASE("a mailbox that cannot be created is a temporary failure") {
  World w;
  // A regular file where the domain directory should be.
  REQUIRE(common::io::make_dirs(w.mail + "/example.org", 0770).is_ok());
  common::io::UniqueFd f(::open((w.mail + "/example.org/blocked").c_str(), O_WRONLY | O_CREAT, 0600));
  REQUIRE(f.valid());
  Recipients recipients(w.db, w.mail);
  NameGenerator names("h");
  BatchDeliverer del(recipients, names);
  std::vector<Request> batch;
  batch.push_back(request(w.dir.path, {"blocked@example.org", "alice@example.org"}));
  auto out = del.deliver(batch);
  CHECK(out[0].results[0].outcome == Outcome::kTemporary);
  CHECK(out[0].results[0].status == "4.3.0");
  CHECK(out[0].results[1].outcome == Outcome::kOk);
}

TEST_CASE("no accounts database yet: temporary, and found once it exists") {
  TempDir dir;
  std::string db = dir.path + "/accounts.mdb";
  Recipients recipients(db, dir.path + "/mail");
  NameGenerator names("h");
  BatchDeliverer del(recipients, names);
  std::vector<Request> batch;
  batch.push_back(request(dir.path, {"alice@example.org"}));
  auto out = del.deliver(batch);
  CHECK(out[0].results[0].outcome == Outcome::kTemporary);
  {
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    common::accounts::User u;
    u.address = "alice@example.org";
    u.maildir = "example.org/alice";
    REQUIRE((*a)->put_user(u).is_ok());
  }
  std::vector<Request> again;
  again.push_back(request(dir.path, {"alice@example.org"}));
  out = del.deliver(again);
  CHECK(out[0].results[0].outcome == Outcome::kOk);
}

TEST_CASE("injected syncfs failures defer the whole batch and leave no files") {
  World w;
  Recipients recipients(w.db, w.mail);
  NameGenerator names("h");
  BatchDeliverer del(recipients, names, 1);
  for (const char* point : {"local.fsync@1", "local.dir_fsync@1"}) {
    CAPTURE(point);
    ::setenv("MAILBAG_FAULTS", point, 1);
    common::spool::fault::init_from_env();
    ::unsetenv("MAILBAG_FAULTS");
    std::vector<Request> batch;
    batch.push_back(request(w.dir.path, {"alice@example.org", "bob@example.org"}, 1));
    batch.push_back(request(w.dir.path, {"alice@example.org"}, 2));
    auto out = del.deliver(batch);
    CHECK(out[0].results[0].outcome == Outcome::kTemporary);
    CHECK(out[0].results[1].outcome == Outcome::kTemporary);
    CHECK(out[1].results[0].outcome == Outcome::kTemporary);
    CHECK(out[1].results[0].text.find("injected") != std::string::npos);
    for (const char* u : {"alice", "bob"}) {
      CHECK(w.inbox(u).empty());
      CHECK(list_dir(w.mail + "/example.org/" + u + "/tmp").empty());
    }
  }
}

TEST_CASE("an injected fsync failure of new/ takes the files back and defers") {
  World w;
  Recipients recipients(w.db, w.mail);
  NameGenerator names("h");
  BatchDeliverer del(recipients, names);
  ::setenv("MAILBAG_FAULTS", "local.dir_fsync@1", 1);
  common::spool::fault::init_from_env();
  ::unsetenv("MAILBAG_FAULTS");
  std::vector<Request> batch;
  batch.push_back(request(w.dir.path, {"alice@example.org"}));
  auto out = del.deliver(batch);
  CHECK(out[0].results[0].outcome == Outcome::kTemporary);
  CHECK(out[0].results[0].text.find("injected") != std::string::npos);
  CHECK(w.inbox("alice").empty());
  CHECK(list_dir(w.mail + "/example.org/alice/tmp").empty());
  // The rule fired once; the retry goes through.
  std::vector<Request> retry;
  retry.push_back(request(w.dir.path, {"alice@example.org"}));
  out = del.deliver(retry);
  CHECK(out[0].results[0].outcome == Outcome::kOk);
  CHECK(w.inbox("alice").size() == 1);
}
