// Policy decisions over an in-memory directory, plus one run over a real temporary
// accounts database (AccountsDirectory over common::accounts::Accounts): recipients and
// relay control (the open-relay tricks), senders (submission, login check), ETRN.
#include "smtpd/policy.hpp"

#include <doctest/doctest.h>

#include "common/accounts/accounts.hpp"
#include "smtpd/accounts_directory.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using common::mail::Address;

namespace {

Address addr(const std::string& text) {
  auto a = common::mail::parse_mailbox(text, true);
  MB_CHECK(a.is_ok(), "test address");
  return *a;
}

const std::vector<std::string> kRelayDomains = {"backup.test"};

Reply rcpt(Directory& dir, const std::string& text, const SessionFacts& f = SessionFacts{}) {
  return check_recipient(f, addr(text), dir, kRelayDomains);
}

// A recipient as the SMTP parser produces it (quoted local parts, source routes).
Reply rcpt_path(Directory& dir, const std::string& path, const SessionFacts& f = SessionFacts{}) {
  common::mail::PathOptions opt;
  std::size_t used = 0;
  auto a = common::mail::parse_path(path, opt, &used);
  MB_CHECK(a.is_ok(), "test path");
  return check_recipient(f, *a, dir, kRelayDomains);
}

SessionFacts authed(const std::string& user) {
  SessionFacts f;
  f.auth_user = user;
  f.tls = true;
  return f;
}

MailArgs from(const std::string& text) {
  MailArgs m;
  if (!text.empty()) m.sender = addr(text);
  return m;
}

SenderRules rules(bool submission = false, bool login_check = true) {
  SenderRules r;
  r.size_limit = 1000;
  r.submission = submission;
  r.sender_login_check = login_check;
  return r;
}

}  // namespace

TEST_CASE("existing users and aliases of local domains are accepted (250 2.1.5)") {
  testing::MemoryDirectory dir;
  for (const char* a : {"alice@example.test", "Alice@example.test", "info@example.test"}) {
    CAPTURE(a);
    Reply r = rcpt(dir, a);
    CHECK(r.code == 250);
    CHECK(r.status == "2.1.5");
  }
}

TEST_CASE("unknown user of a local domain: 550 5.1.1") {
  testing::MemoryDirectory dir;
  Reply r = rcpt(dir, "nobody@example.test");
  CHECK(r.code == 550);
  CHECK(r.status == "5.1.1");
}

TEST_CASE("foreign domain from an unauthorised client: 554 5.7.1 Relay access denied") {
  testing::MemoryDirectory dir;
  for (const char* a : {"alice@other.test", "alice@sub.example.test", "postmaster@other.test",
                        "alice@[192.0.2.1]", "alice@OTHER.TEST", "alice@sub.backup.test"}) {
    CAPTURE(a);
    Reply r = rcpt(dir, a);
    CHECK(r.code == 554);
    CHECK(r.status == "5.7.1");
    CHECK(r.text == "Relay access denied");
  }
}

TEST_CASE("relaying is allowed when authenticated, from relay_networks, or by the relay db") {
  testing::MemoryDirectory dir;
  SessionFacts net;
  net.relay_network = true;
  SessionFacts pop;
  pop.relay_db = true;
  SessionFacts stale;
  stale.relay_db = false;
  for (const SessionFacts& f : {authed("alice@example.test"), net, pop}) {
    CHECK(rcpt(dir, "someone@other.test", f).code == 250);
    CHECK(rcpt(dir, "someone@[192.0.2.1]", f).code == 250);
    CHECK(may_relay(f));
  }
  CHECK(rcpt(dir, "someone@other.test", stale).code == 554);
  CHECK_FALSE(may_relay(stale));
  CHECK_FALSE(may_relay(SessionFacts{}));
  // Local recipients are still checked for an authorised client.
  CHECK(rcpt(dir, "nobody@example.test", net).code == 550);
}

TEST_CASE("the classic open-relay tricks are refused from an unauthorised client") {
  testing::MemoryDirectory dir;
  // Each one tries to get mail for other.test relayed through a local domain.
  for (const char* path : {
           "<alice%other.test@example.test>",      // percent hack
           "<\"alice@other.test\"@example.test>",  // quoted local part with '@'
           "<@example.test:alice@other.test>",     // source route (stripped)
           "<other.test!alice@example.test>",      // bang path
           "<ALICE%OTHER.TEST@EXAMPLE.TEST>",      // upper case
           "<alice%other.test@catchall.test>",     // even where any local part goes
           "<alice%other.test@backup.test>",       // and through a backup-MX domain
           "<alice@[127.0.0.1]>",                  // IP literal
           "<alice@[IPv6:::1]>",
       }) {
    CAPTURE(path);
    Reply r = rcpt_path(dir, path);
    CHECK(r.code == 554);
    CHECK(r.status == "5.7.1");
  }
  // Not even syntax: the parser refuses these before the policy sees them.
  common::mail::PathOptions opt;
  std::size_t used = 0;
  for (const char* path :
       {"<alice@other.test@example.test>", "<alice@other.test.>", "<alice@example.test.>"}) {
    CAPTURE(path);
    CHECK_FALSE(common::mail::parse_path(path, opt, &used).is_ok());
  }
  // An authorised client's routing is passed on as written (it may relay anyway).
  SessionFacts net;
  net.relay_network = true;
  CHECK(rcpt_path(dir, "<alice%other.test@catchall.test>", net).code == 250);
}

TEST_CASE("relay_domains (backup MX): any local part from anyone, exact domain only") {
  testing::MemoryDirectory dir;
  CHECK(rcpt(dir, "anyone@backup.test").code == 250);
  CHECK(rcpt(dir, "Boss@BACKUP.test").code == 250);
  CHECK(rcpt(dir, "boss@sub.backup.test").code == 554);
}

TEST_CASE("relay_domains with a relay recipient list: unknown local parts 550 5.1.1 (no backscatter)") {
  testing::MemoryDirectory dir;
  dir.db.relay_recipient_set = {"@backup.test", "boss@backup.test"};
  CHECK(rcpt(dir, "boss@backup.test").code == 250);
  CHECK(rcpt(dir, "Boss+news@BACKUP.test").code == 250);  // a subaddress of a listed address
  Reply r = rcpt(dir, "nobody@backup.test");
  CHECK(r.code == 550);
  CHECK(r.status == "5.1.1");
  // Authenticated or trusted clients get the same answer: the list is what the primary takes.
  CHECK(rcpt(dir, "nobody@backup.test", authed("alice@example.test")).code == 550);
  // A list for a domain that is not in relay_domains changes nothing.
  dir.db.relay_recipient_set.insert("@elsewhere.test");
  CHECK(rcpt(dir, "x@elsewhere.test").code == 554);
  CHECK(rcpt(dir, "x@elsewhere.test", authed("alice@example.test")).code == 250);
  // An empty list refuses every recipient; no list accepts any.
  dir.db.relay_recipient_set = {"@backup.test"};
  CHECK(rcpt(dir, "boss@backup.test").code == 550);
  dir.db.relay_recipient_set.clear();
  CHECK(rcpt(dir, "nobody@backup.test").code == 250);
}

TEST_CASE("RFC 5321 4.5.1 / RFC 2142: postmaster and abuse of every local domain") {
  testing::MemoryDirectory dir;
  CHECK(rcpt(dir, "postmaster@example.test").code == 250);
  CHECK(rcpt(dir, "PostMaster@example.test").code == 250);
  CHECK(rcpt(dir, "abuse@alias.test").code == 250);
  // The session maps a bare <Postmaster> to postmaster@<hostname>; always accepted.
  CHECK(rcpt(dir, "postmaster@mx.example.test").code == 250);
  CHECK(rcpt(dir, "abuse@mx.example.test").code == 554);  // hostname is not a local domain
}

TEST_CASE("domain alias, catch-all and disabled users") {
  testing::MemoryDirectory dir;
  CHECK(rcpt(dir, "bob@alias.test").code == 250);
  CHECK(rcpt(dir, "nobody@alias.test").code == 550);
  CHECK(rcpt(dir, "anything@catchall.test").code == 250);
  Reply r = rcpt(dir, "gone@example.test");
  CHECK(r.code == 550);
  CHECK(r.status == "5.2.1");
}

TEST_CASE("unreadable accounts database: 451 4.3.0") {
  testing::MemoryDirectory dir;
  dir.broken = true;
  Reply r = rcpt(dir, "alice@example.test");
  CHECK(r.code == 451);
  CHECK(r.status == "4.3.0");
}

TEST_CASE("RFC 1870 6.1: declared SIZE over the limit is 552 5.3.4") {
  testing::MemoryDirectory dir;
  MailArgs m;
  m.size = 1001;
  CHECK(check_sender(SessionFacts{}, m, rules(), dir).code == 552);
  CHECK(check_sender(SessionFacts{}, m, rules(), dir).status == "5.3.4");
  m.size = 1000;
  CHECK(check_sender(SessionFacts{}, m, rules(), dir).code == 250);
  m.size.reset();
  CHECK(check_sender(SessionFacts{}, m, rules(), dir).code == 250);
}

TEST_CASE("RFC 6409 4.3: on a submission port MAIL needs AUTH (530 5.7.0) unless trusted") {
  testing::MemoryDirectory dir;
  Reply r = check_sender(SessionFacts{}, from("alice@example.test"), rules(true), dir);
  CHECK(r.code == 530);
  CHECK(r.status == "5.7.0");
  CHECK(check_sender(SessionFacts{}, from("x@other.test"), rules(false), dir).code == 250);  // MX port
  CHECK(check_sender(authed("alice@example.test"), from("alice@example.test"), rules(true), dir).code == 250);
  SessionFacts net;
  net.relay_network = true;
  CHECK(check_sender(net, from("x@other.test"), rules(true), dir).code == 250);
  SessionFacts pop;
  pop.relay_db = true;
  CHECK(check_sender(pop, from("x@other.test"), rules(true), dir).code == 250);
}

TEST_CASE("sender login check: own address, aliases of it, alias domains, <>") {
  testing::MemoryDirectory dir;
  SessionFacts alice = authed("alice@example.test");
  SessionFacts bob = authed("bob@example.test");
  auto sender = [&](const SessionFacts& f, const std::string& s, bool check = true) {
    return check_sender(f, from(s), rules(true, check), dir);
  };
  CHECK(sender(alice, "alice@example.test").code == 250);
  CHECK(sender(alice, "ALICE@Example.Test").code == 250);
  CHECK(sender(alice, "alice@alias.test").code == 250);    // domain alias
  CHECK(sender(alice, "sales@example.test").code == 250);  // alias -> alice
  CHECK(sender(alice, "sales@alias.test").code == 250);    // the same alias in the alias domain
  CHECK(sender(alice, "info@example.test").code == 250);   // alias -> alice, bob
  CHECK(sender(bob, "info@example.test").code == 250);     // targets compared case-insensitively
  CHECK(sender(alice, "").code == 250);                    // the null sender
  Reply r = sender(bob, "sales@example.test");
  CHECK(r.code == 554);
  CHECK(r.status == "5.7.1");
  CHECK(sender(alice, "bob@example.test").code == 554);
  CHECK(sender(alice, "alice@other.test").code == 554);
  CHECK(sender(alice, "alice@[192.0.2.1]").code == 554);
  CHECK(sender(alice, "bob@example.test", false).code == 250);  // smtpd_sender_login_check = no
  // Unauthenticated clients are not checked (MX traffic).
  CHECK(check_sender(SessionFacts{}, from("bob@example.test"), rules(), dir).code == 250);
  dir.broken = true;
  CHECK(sender(alice, "sales@example.test").code == 451);
}

TEST_CASE("ETRN: relay domains only, from etrn_networks; queue names unsupported") {
  SessionFacts f;
  f.etrn_network = true;
  EtrnArgs e;
  e.node = "backup.test";
  CHECK_FALSE(check_etrn(f, e, kRelayDomains).has_value());
  e.subdomains = true;
  CHECK_FALSE(check_etrn(f, e, kRelayDomains).has_value());
  e.subdomains = false;
  e.node = "example.test";  // local, not relayed: nothing waits for it
  auto r = check_etrn(f, e, kRelayDomains);
  REQUIRE(r);
  CHECK(r->code == 459);
  CHECK(r->text == "Node example.test not allowed: not a relay domain");
  e.node = "backup.test";
  SessionFacts outsider;
  auto o = check_etrn(outsider, e, kRelayDomains);
  REQUIRE(o);
  CHECK(o->code == 459);
  EtrnArgs q;
  q.queue_name = true;
  q.node = "dialup";
  auto qr = check_etrn(f, q, kRelayDomains);
  REQUIRE(qr);
  CHECK(qr->code == 458);
}

TEST_CASE("check_etrn: a relay domain with its own release networks (RFC 1985 5)") {
  const std::vector<std::string> relay = {"backup.test", "other.test"};
  const std::vector<std::string> own = {"backup.test"};
  EtrnArgs e;
  e.node = "backup.test";
  // In etrn_networks but not in backup.test's release networks: refused, logged as such.
  SessionFacts trusted;
  trusted.etrn_network = true;
  auto r = check_etrn(trusted, e, relay, own);
  REQUIRE(r);
  CHECK(r->code == 459);
  CHECK(r->status == "4.7.1");
  CHECK(r->text == "Node backup.test not allowed: client not authorized");
  // Its release networks hold the client: allowed, even outside etrn_networks.
  SessionFacts primary;
  primary.etrn_granted = {"backup.test"};
  CHECK_FALSE(check_etrn(primary, e, relay, own).has_value());
  // A domain without its own list keeps etrn_networks.
  e.node = "other.test";
  CHECK_FALSE(check_etrn(trusted, e, relay, own).has_value());
  CHECK(check_etrn(primary, e, relay, own).has_value());
  // A grant never makes a domain a relay domain.
  e.node = "elsewhere.test";
  primary.etrn_granted.push_back("elsewhere.test");
  CHECK(check_etrn(primary, e, relay, {"elsewhere.test"})->text ==
        "Node elsewhere.test not allowed: not a relay domain");
}

TEST_CASE("releasable_domains: what a wake-up message or a connection from this client releases") {
  const std::vector<std::string> relay = {"a.test", "b.test", "c.test"};
  const std::vector<std::string> own = {"a.test", "b.test"};  // a.test and b.test have release= networks
  SessionFacts stranger;
  CHECK(releasable_domains(stranger, relay, own).empty());
  SessionFacts trusted;  // in etrn_networks: only the domains without their own networks
  trusted.etrn_network = true;
  CHECK(releasable_domains(trusted, relay, own) == std::vector<std::string>{"c.test"});
  SessionFacts primary;  // in b.test's release networks
  primary.etrn_granted = {"b.test"};
  CHECK(releasable_domains(primary, relay, own) == std::vector<std::string>{"b.test"});
  primary.etrn_network = true;
  CHECK(releasable_domains(primary, relay, own) == std::vector<std::string>{"b.test", "c.test"});
  primary.etrn_granted = {"b.test", "gone.test"};  // never more than relay_domains
  CHECK(releasable_domains(primary, relay, own) == std::vector<std::string>{"b.test", "c.test"});
}

TEST_CASE("AccountsDirectory over a real LMDB accounts database") {
  testing::TempDir tmp;
  std::string path = tmp.path() + "/accounts.mdb";

  // Before the database exists every lookup fails: 451.
  AccountsDirectory missing(path, nullptr);
  CHECK(rcpt(missing, "alice@example.test").code == 451);

  {
    auto w = common::accounts::Accounts::open(path, true);
    REQUIRE(w.is_ok());
    common::accounts::Domain d;
    d.name = "example.test";
    REQUIRE((*w)->put_domain(d).is_ok());
    common::accounts::Domain da;
    da.name = "alias.test";
    da.alias_of = "example.test";
    REQUIRE((*w)->put_domain(da).is_ok());
    common::accounts::User u;
    u.address = "alice@example.test";
    u.maildir = "example.test/alice";
    REQUIRE((*w)->put_user(u).is_ok());
    common::accounts::User off;
    off.address = "gone@example.test";
    off.maildir = "example.test/gone";
    off.disabled = true;
    REQUIRE((*w)->put_user(off).is_ok());
    common::accounts::Alias al;
    al.address = "sales@example.test";
    al.targets = {"alice@example.test"};
    REQUIRE((*w)->put_alias(al).is_ok());
    common::accounts::Domain other;
    other.name = "other.test";
    REQUIRE((*w)->put_domain(other).is_ok());
    common::accounts::User carol;
    carol.address = "carol@other.test";
    carol.maildir = "other.test/carol";
    REQUIRE((*w)->put_user(carol).is_ok());
  }

  auto ro = common::accounts::Accounts::open(path, false);
  REQUIRE(ro.is_ok());
  AccountsDirectory dir(path, std::move(*ro));
  dir.rules.postmaster_address = "alice@example.test";
  CHECK(rcpt(dir, "alice@example.test").code == 250);
  CHECK(rcpt(dir, "sales@example.test").code == 250);
  CHECK(rcpt(dir, "alice@alias.test").code == 250);
  CHECK(rcpt(dir, "postmaster@example.test").code == 250);
  CHECK(rcpt(dir, "bob@example.test").status == "5.1.1");
  CHECK(rcpt(dir, "gone@example.test").status == "5.2.1");
  CHECK(rcpt(dir, "alice@nowhere.test").status == "5.7.1");
  // Sender login check over the real aliases.
  SessionFacts alice = authed("alice@example.test");
  CHECK(check_sender(alice, from("sales@example.test"), rules(true), dir).code == 250);
  CHECK(check_sender(alice, from("alice@alias.test"), rules(true), dir).code == 250);
  CHECK(check_sender(alice, from("carol@other.test"), rules(true), dir).code == 554);
  // AUTH login names: the full address, any case; a bare local part only with one
  // domain (here there are two real ones); disabled and unknown users are nobody.
  CHECK(*dir.login_account("Alice@Example.TEST") == std::optional<std::string>("alice@example.test"));
  CHECK(*dir.login_account("alice") == std::nullopt);
  CHECK(*dir.login_account("gone@example.test") == std::nullopt);
  CHECK(*dir.login_account("nobody@example.test") == std::nullopt);
  CHECK(*dir.login_account("sales@example.test") == std::nullopt);  // an alias cannot log in

  // The directory opened lazily (after the 1 s back-off) finds the database too.
  AccountsDirectory lazy(path, nullptr);
  CHECK(rcpt(lazy, "alice@example.test").code == 250);
}

TEST_CASE("AUTH login name: a bare local part when there is exactly one real domain") {
  testing::TempDir tmp;
  std::string path = tmp.path() + "/accounts.mdb";
  {
    auto w = common::accounts::Accounts::open(path, true);
    REQUIRE(w.is_ok());
    common::accounts::Domain d;
    d.name = "yourcompany.test";
    REQUIRE((*w)->put_domain(d).is_ok());
    common::accounts::Domain da;
    da.name = "alias.test";
    da.alias_of = "yourcompany.test";
    REQUIRE((*w)->put_domain(da).is_ok());
    common::accounts::User u;
    u.address = "bob@yourcompany.test";
    u.maildir = "yourcompany.test/bob";
    REQUIRE((*w)->put_user(u).is_ok());
  }
  auto ro = common::accounts::Accounts::open(path, false);
  REQUIRE(ro.is_ok());
  AccountsDirectory dir(path, std::move(*ro));
  // A bare user name logs in to the only real domain ("bob" for bob@yourcompany.test).
  CHECK(*dir.login_account("bob") == std::optional<std::string>("bob@yourcompany.test"));
  CHECK(*dir.login_account("BOB") == std::optional<std::string>("bob@yourcompany.test"));
  CHECK(*dir.login_account("alice") == std::nullopt);
}
