// Property test: smtpd's RCPT verdict, the queue manager's choice of agent and the local
// agent's delivery agree for every address class. A generated accounts directory
// (written both to a real accounts.mdb, which the agent reads, and to an in-memory
// Lookup for the RCPT and transport side) holds users, aliases, alias chains of every
// depth up to the limit, alias loops, domain aliases, catch-alls (working and broken),
// subaddresses, postmaster and abuse defaults, postmaster@<hostname>, SRS addresses
// (ours, forged, expired), unknown, disabled and over-quota users. For each address:
// RCPT accepts -> the queue manager sends it to the local agent, which delivers it (or
// defers it); RCPT refuses permanently -> the agent would refuse with the same status;
// RCPT refuses temporarily -> the agent does not deliver it now; not local -> the remote
// agent takes it.
#include <doctest/doctest.h>

#include <ctime>
#include <map>
#include <set>

#include "common/accounts/accounts.hpp"
#include "common/accounts/address_book.hpp"
#include "common/io/fdio.hpp"
#include "common/mail/srs.hpp"
#include "common/maildir/quota_flags.hpp"
#include "delivery/local/batch.hpp"
#include "delivery/local/test_support.hpp"
#include "delivery/test_support.hpp"

using namespace delivery::local;
using common::accounts::Class;
using common::mail::Outcome;
using delivery::testing::BlockingSubmitter;
using delivery::testing::make_queued;
using delivery::testing::SubmitPeer;
using delivery::testing::TempDir;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";
const std::string kHost = "mx.example.org";  // not a domain of ours

// Writes every record to the database and to the in-memory copy.
struct Directory {
  TempDir dir;
  std::string db_path = dir.path + "/accounts.mdb";
  std::string mail = dir.path + "/mail";
  std::string flags = dir.path + "/quota";
  std::string sock = dir.path + "/submit";
  std::string incoming = dir.path + "/incoming";
  std::unique_ptr<common::accounts::Accounts> db;
  common::accounts::MemoryLookup mem;
  // address -> the class RCPT must give it.
  std::map<std::string, Class> cases;

  Directory() {
    REQUIRE(common::io::make_dirs(mail, 0770).is_ok());
    REQUIRE(common::io::make_dirs(flags, 0750).is_ok());
    REQUIRE(common::io::make_dirs(incoming, 0770).is_ok());
    auto a = common::accounts::Accounts::open(db_path, true);
    REQUIRE(a.is_ok());
    db = std::move(*a);
  }
  void domain(const std::string& name, const std::string& alias_of = "", const std::string& catchall = "") {
    REQUIRE(db->put_domain(mem.add_domain(name, alias_of, catchall)).is_ok());
  }
  common::accounts::User& user(const std::string& address) { return mem.add_user(address); }
  void save_users() {
    for (const auto& [k, u] : mem.user_map) REQUIRE(db->put_user(u).is_ok());
  }
  void alias(const std::string& address, std::vector<std::string> targets) {
    REQUIRE(db->put_alias(mem.add_alias(address, std::move(targets))).is_ok());
  }
  common::accounts::Rules rules() const {
    common::accounts::Rules r;
    r.hostname = kHost;
    r.postmaster_address = "admin@example.org";
    r.recipient_delimiter = "+";
    r.mail_root = mail;
    r.srs_secret = kSecret;
    return r;
  }
};

// The directory, generated: `n` ordinary users, alias chains of every depth up to
// kMaxDepth, and one or more addresses of every class.
void generate(Directory& d, int n, std::int64_t now) {
  d.domain("example.org");
  d.domain("example.net", "example.org");           // domain alias
  d.domain("catch.org", "", "user0@example.org");   // catch-all
  d.domain("broken.org", "", "ghost@example.org");  // catch-all to nowhere
  for (int i = 0; i < n; ++i) {
    std::string u = "user" + std::to_string(i) + "@example.org";
    d.user(u);
    d.cases[u] = Class::kOk;
    d.cases["User" + std::to_string(i) + "+tag" + std::to_string(i) + "@example.org"] = Class::kOk;
    d.cases["user" + std::to_string(i) + "@example.net"] = Class::kOk;
  }
  d.user("admin@example.org");
  d.user("gone@example.org").disabled = true;
  d.user("full@example.org").quota = 1000;
  d.user("fwd@example.org").forward = {"far@away.example"};
  d.mem.user_map["fwd@example.org"].keep_copy = false;
  d.user("bad@example.org").maildir = "example.org/../../etc";
  d.save_users();

  // Alias chains: chainK -> chainK-1 -> ... -> chain0 -> user0. Depth 10 still resolves
  // (10 levels below the recipient), deeper is 5.4.6.
  d.alias("chain0@example.org", {"user0@example.org"});
  for (int k = 1; k <= common::accounts::kMaxDepth + 1; ++k)
    d.alias("chain" + std::to_string(k) + "@example.org", {"chain" + std::to_string(k - 1) + "@example.org"});
  for (int k = 0; k <= common::accounts::kMaxDepth + 1; ++k)
    d.cases["chain" + std::to_string(k) + "@example.org"] =
        k + 1 <= common::accounts::kMaxDepth ? Class::kOk : Class::kLoop;
  d.alias("team@example.org", {"user0@example.org", "user1@example.org", "far@away.example"});
  d.alias("old@example.org", {"gone@example.org"});
  d.alias("ping@example.org", {"pong@example.org"});
  d.alias("pong@example.org", {"ping@example.org"});
  d.alias("self@example.org", {"self@example.org"});

  auto srs = common::mail::srs::forward(kSecret, "someone", "origin.example", "example.org", now);
  REQUIRE(srs.is_ok());
  auto old =
      common::mail::srs::forward(kSecret, "someone", "origin.example", "example.org", now - 40 * 86400);
  REQUIRE(old.is_ok());
  for (auto [a, c] : std::vector<std::pair<std::string, Class>>{
           {"team@example.org", Class::kOk},
           {"team@example.net", Class::kOk},
           {"anything@catch.org", Class::kOk},
           {"nobody@example.net", Class::kUnknown},
           {"postmaster@example.org", Class::kOk},
           {"abuse@example.net", Class::kOk},
           {"postmaster@" + kHost, Class::kOk},
           {"PostMaster@MX.Example.Org", Class::kOk},
           {"fwd@example.org", Class::kOk},
           {*srs, Class::kOk},
           {*old, Class::kBadSrs},
           {"SRS0=AAAAAA=AA=origin.example=someone@example.org", Class::kBadSrs},
           {"nobody@example.org", Class::kUnknown},
           {"user0+@example.org", Class::kOk},
           {"+x@example.org", Class::kUnknown},
           {"x@broken.org", Class::kUnknown},
           {"gone@example.org", Class::kDisabled},
           {"old@example.org", Class::kDisabled},
           {"full@example.org", Class::kFull},
           {"full+x@example.org", Class::kFull},
           {"bad@example.org", Class::kTempFail},
           {"ping@example.org", Class::kLoop},
           {"self@example.org", Class::kLoop},
       })
    d.cases[a] = c;
  d.db.reset();  // the agent opens its own read-only handle (one LMDB env per file)
}

}  // namespace

TEST_CASE("every address class: RCPT verdict, transport and local delivery agree") {
  std::int64_t now = ::time(nullptr);
  Directory d;
  generate(d, 5, now);
  // Addresses of other domains: the remote agent's, whatever RCPT's relay rules say.
  const std::set<std::string> remote = {"someone@far.example", "postmaster@far.example", "x@[192.0.2.1]"};
  for (const auto& a : remote) d.cases[a] = Class::kOk;

  SubmitPeer qmgr(d.sock);
  RecipientsConfig cfg;
  static_cast<common::accounts::Rules&>(cfg) = d.rules();
  cfg.accounts_path = d.db_path;
  Recipients recipients(cfg);
  NameGenerator names(kHost);
  BlockingSubmitter submitter(d.incoming, d.sock);
  LocalPolicy policy;
  policy.hostname = kHost;
  policy.quota_flags_dir = d.flags;
  policy.srs_secret = kSecret;
  BatchDeliverer agent(recipients, names, &submitter, policy);

  // full@ gets one message that takes it to its quota (within the 10 % grace): the agent
  // then flags it full, the flag smtpd reads.
  {
    auto q = make_queued(d.dir.path, "sender@origin.example", {"full@example.org"},
                         "Subject: t\n\n" + std::string(980, 'x') + "\n");
    std::vector<Request> batch;
    batch.push_back(Request{std::move(q.deliver), std::move(q.fd)});
    REQUIRE(agent.deliver(batch)[0].results[0].outcome == Outcome::kOk);
    REQUIRE(common::maildir::has_full_flag(d.flags, "full@example.org"));
  }

  common::accounts::AddressBook book(d.mem, d.rules());
  auto full = [&](const std::string& user) { return common::maildir::has_full_flag(d.flags, user); };
  std::map<Class, int> seen;
  std::string body = "Subject: t\n\n" + std::string(2000, 'x') + "\n";  // over full@'s quota
  for (const auto& [text, want] : d.cases) {
    CAPTURE(text);
    auto addr = common::mail::parse_mailbox(text, true);
    REQUIRE(addr.is_ok());
    auto rcpt = book.rcpt(*addr, now, full);
    auto transport = book.transport(text);
    REQUIRE(transport.is_ok());
    if (!rcpt.local) {
      CHECK(remote.count(text) == 1);
      CHECK(*transport == common::accounts::Transport::kRemote);
      continue;
    }
    CHECK(rcpt.why == want);
    ++seen[rcpt.why];
    // What RCPT takes must go to the agent that can deliver it.
    CHECK(*transport == common::accounts::Transport::kLocal);

    auto q = make_queued(d.dir.path, "sender@origin.example", {text}, body);
    std::vector<Request> batch;
    batch.push_back(Request{std::move(q.deliver), std::move(q.fd)});
    auto done = agent.deliver(batch);
    REQUIRE(done.size() == 1);
    REQUIRE(done[0].results.size() == 1);
    const auto& got = done[0].results[0];
    CAPTURE(got.status);
    CAPTURE(got.text);
    switch (rcpt.why) {
      case Class::kOk:
        // Accepted: delivered (a copy, or new messages for the targets).
        CHECK(got.outcome == Outcome::kOk);
        break;
      case Class::kFull:
      case Class::kTempFail:
        // "Try later" at RCPT: the agent does not deliver it now either.
        CHECK(got.outcome != Outcome::kOk);
        break;
      default:
        // Refused at RCPT: the agent refuses it the same way.
        CHECK(rcpt.verdict.outcome == Outcome::kPermanent);
        CHECK(got.outcome == Outcome::kPermanent);
        CHECK(got.status == rcpt.verdict.status);
        break;
    }
  }
  // Every class was walked.
  for (Class c : {Class::kOk, Class::kUnknown, Class::kBadSrs, Class::kDisabled, Class::kFull, Class::kLoop,
                  Class::kTempFail}) {
    CAPTURE(static_cast<int>(c));
    CHECK(seen[c] > 0);
  }
}
