// Tests for junk delivery in the local agent's batch (batch.hpp): a message whose queue
// file carries the junk verdict goes into the Maildir++ folder ".Junk" (created with its
// marker, subdirectories and subscription, mode 0770), counted in the root's
// maildirsize; a user who switched the folder off gets it in the inbox; other mail and
// other users are untouched.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/io/fdio.hpp"
#include "common/maildir/maildirsize.hpp"
#include "delivery/local/batch.hpp"
#include "delivery/test_support.hpp"

using namespace delivery::local;
using common::mail::Outcome;
using delivery::testing::list_dir;
using delivery::testing::make_queued;
using delivery::testing::TempDir;

namespace {

struct JunkWorld {
  TempDir dir;
  std::string db = dir.path + "/accounts.mdb";
  std::string mail = dir.path + "/mail";
  Recipients recipients;
  NameGenerator names{"mx.example.org"};
  BatchDeliverer del;
  JunkWorld()
      : recipients(db, mail), del(recipients, names, nullptr, [] {
          LocalPolicy p;
          p.hostname = "mx.example.org";
          return p;
        }()) {
    REQUIRE(common::io::make_dirs(mail, 0770).is_ok());
    auto a = common::accounts::Accounts::open(db, true);
    REQUIRE(a.is_ok());
    common::accounts::Domain d;
    d.name = "example.org";
    REQUIRE((*a)->put_domain(d).is_ok());
    for (const char* n : {"alice", "bob"}) {
      common::accounts::User u;
      u.address = std::string(n) + "@example.org";
      u.maildir = std::string("example.org/") + n;
      u.quota = 1000000;
      u.junk_folder = u.address != "bob@example.org";  // bob keeps junk in the inbox
      REQUIRE((*a)->put_user(u).is_ok());
    }
  }
  std::string md(const std::string& user) const { return mail + "/example.org/" + user; }
  std::vector<common::ipc::DeliverDone> deliver(const std::vector<std::string>& rcpts, bool junk) {
    auto q =
        make_queued(dir.path, "s@sender.example", rcpts, "Subject: offer\n\nbuy now\n", 1, "ESMTP", "", junk);
    std::vector<Request> batch;
    batch.push_back(Request{std::move(q.deliver), std::move(q.fd)});
    return del.deliver(batch);
  }
};

mode_t mode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a junk message goes into .Junk, created as a Maildir++ folder and subscribed") {
  JunkWorld w;
  auto r = w.deliver({"alice@example.org"}, true);
  REQUIRE(r[0].results[0].outcome == Outcome::kOk);
  CHECK(r[0].results[0].text.find("Junk") != std::string::npos);
  std::string junk = w.md("alice") + "/.Junk";
  CHECK(list_dir(junk + "/new").size() == 1);
  CHECK(list_dir(w.md("alice") + "/new").empty());
  CHECK(mode_of(junk) == 0770);
  for (const char* sub : {"/cur", "/new", "/tmp"}) CHECK(mode_of(junk + sub) == 0770);
  CHECK(::access((junk + "/maildirfolder").c_str(), F_OK) == 0);
  auto subs = common::io::read_file(w.md("alice") + "/subscriptions");
  REQUIRE(subs.is_ok());
  CHECK(*subs == "Junk\n");
  // Ordinary mail still goes to the inbox; a second junk message to the same folder,
  // and the subscription is not repeated.
  CHECK(w.deliver({"alice@example.org"}, false)[0].results[0].outcome == Outcome::kOk);
  CHECK(w.deliver({"alice@example.org"}, true)[0].results[0].outcome == Outcome::kOk);
  CHECK(list_dir(w.md("alice") + "/new").size() == 1);
  CHECK(list_dir(junk + "/new").size() == 2);
  CHECK(*common::io::read_file(w.md("alice") + "/subscriptions") == "Junk\n");
  // Maildir++: one maildirsize in the root counts every folder.
  auto usage = common::maildir::read_usage(w.md("alice"), {1000000, 0}, {false, ::time(nullptr)});
  REQUIRE(usage.is_ok());
  CHECK_FALSE(usage->recalculated);
  CHECK(usage->usage.count == 3);
  CHECK(::access((junk + "/maildirsize").c_str(), F_OK) != 0);
  auto real = common::maildir::scan_maildir(w.md("alice"));
  REQUIRE(real.is_ok());
  CHECK(usage->usage.bytes == real->bytes);
}

TEST_CASE("junk_folder off: junk goes into the inbox; mixed recipients each get their own") {
  JunkWorld w;
  auto r = w.deliver({"alice@example.org", "bob@example.org"}, true);
  CHECK(r[0].results[0].outcome == Outcome::kOk);
  CHECK(r[0].results[1].outcome == Outcome::kOk);
  CHECK(list_dir(w.md("alice") + "/.Junk/new").size() == 1);
  CHECK(list_dir(w.md("bob") + "/new").size() == 1);
  CHECK(::access((w.md("bob") + "/.Junk").c_str(), F_OK) != 0);
}

TEST_CASE("an existing subscriptions file is appended to; a planted link is not followed") {
  JunkWorld w;
  REQUIRE(common::io::make_dirs(w.md("alice"), 0770).is_ok());
  {
    auto fd = ::open((w.md("alice") + "/subscriptions").c_str(), O_WRONLY | O_CREAT, 0660);
    REQUIRE(fd >= 0);
    REQUIRE(common::io::write_all(fd, "Sent\nTrash").is_ok());
    ::close(fd);
  }
  CHECK(w.deliver({"alice@example.org"}, true)[0].results[0].outcome == Outcome::kOk);
  CHECK(*common::io::read_file(w.md("alice") + "/subscriptions") == "Sent\nTrash\nJunk\n");
  // bob's .Junk is a symlink to somewhere else: refused (temporary), nothing written there.
  std::string elsewhere = w.dir.path + "/elsewhere";
  REQUIRE(common::io::make_dirs(elsewhere + "/new", 0770).is_ok());
  REQUIRE(common::io::make_dirs(w.md("bob"), 0770).is_ok());
  REQUIRE(::symlink(elsewhere.c_str(), (w.md("bob") + "/.Junk").c_str()) == 0);
  auto a = common::accounts::Accounts::open(w.db, true);
  REQUIRE(a.is_ok());
  auto bob = (*a)->user("bob@example.org");
  REQUIRE((bob.is_ok() && bob->has_value()));
  common::accounts::User u = **bob;
  u.junk_folder = true;
  REQUIRE((*a)->put_user(u).is_ok());
  auto r = w.deliver({"bob@example.org"}, true);
  CHECK(r[0].results[0].outcome == Outcome::kTemporary);
  CHECK(list_dir(elsewhere + "/new").empty());
}
