// Unit tests for the accounts database and the password store (common/accounts) on real
// LMDB files: records round-trip, delete_domain takes its users and aliases along, name
// rules keep path traversal out, and passwords are yescrypt hashes checked by libcrypt.
#include "common/accounts/accounts.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <string>

#include "common/accounts/passwd.hpp"

using namespace common::accounts;

namespace {

struct TempDir {
  std::string dir;
  TempDir() {
    char d[] = "/tmp/mailbag-accounts-test-XXXXXX";
    REQUIRE(mkdtemp(d) != nullptr);
    dir = d;
  }
  ~TempDir() {
    for (const char* f : {"/accounts.mdb", "/accounts.mdb-lock", "/passwd.mdb", "/passwd.mdb-lock"})
      unlink((dir + f).c_str());
    rmdir(dir.c_str());
  }
};

User make_user(const std::string& address) {
  User u;
  u.address = address;
  auto at = address.find('@');
  u.maildir = address.substr(at + 1) + "/" + address.substr(0, at);
  return u;
}

Alias make_alias(const std::string& address, std::vector<std::string> targets) {
  Alias a;
  a.address = address;
  a.targets = std::move(targets);
  return a;
}

}  // namespace

TEST_CASE("domains, users and aliases: put, get, list, delete") {
  TempDir t;
  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE_MESSAGE(acc.is_ok(), acc.message());
  Accounts& a = **acc;

  Domain d;
  d.name = "example.org";
  d.catchall = "catch@example.org";
  d.default_quota = 1 << 20;
  d.max_message_size = 5 << 20;
  d.max_recipients = 7;
  d.created = 1700000000;
  REQUIRE(a.put_domain(d).is_ok());
  Domain d2;
  d2.name = "example.net";
  d2.alias_of = "example.org";
  REQUIRE(a.put_domain(d2).is_ok());

  auto got = a.domain("example.org");
  REQUIRE(got.is_ok());
  REQUIRE(got->has_value());
  CHECK((*got)->catchall == "catch@example.org");
  CHECK((*got)->default_quota == 1 << 20);
  CHECK((*got)->max_recipients == 7);
  CHECK((*got)->created == 1700000000);
  CHECK((*got)->version == kRecordVersion);
  CHECK_FALSE(a.domain("example.com")->has_value());
  CHECK_FALSE(a.domain("EXAMPLE.ORG")->has_value());  // keys are stored lower-case; no folding
  auto doms = a.domains();
  REQUIRE(doms.is_ok());
  REQUIRE(doms->size() == 2);
  CHECK((*doms)[0].name == "example.net");  // key order
  CHECK((*doms)[1].name == "example.org");

  User u = make_user("alice@example.org");
  u.quota = 12345;
  u.forward = {"alice@elsewhere.example", "bob@example.org"};
  u.keep_copy = false;
  u.autoreply.enabled = true;
  u.autoreply.subject = "Away";
  u.autoreply.text = "Back on Monday.\nAlice";
  u.autoreply.end = 1800000000;
  u.disabled = true;
  REQUIRE(a.put_user(u).is_ok());
  REQUIRE(a.put_user(make_user("bob@example.org")).is_ok());
  REQUIRE(a.put_user(make_user("carol@example.net")).is_ok());
  auto gu = a.user("alice@example.org");
  REQUIRE(gu.is_ok());
  REQUIRE(gu->has_value());
  const User& g = **gu;
  CHECK(g.maildir == "example.org/alice");
  CHECK(g.quota == 12345);
  CHECK(g.forward == u.forward);
  CHECK_FALSE(g.keep_copy);
  CHECK(g.disabled);
  CHECK(g.autoreply.enabled);
  CHECK(g.autoreply.text == "Back on Monday.\nAlice");
  CHECK(g.autoreply.end == 1800000000);
  CHECK(g.autoreply.interval_days == 7);
  CHECK_FALSE(a.user("nobody@example.org")->has_value());

  auto org_users = a.users("example.org");
  REQUIRE(org_users.is_ok());
  CHECK(org_users->size() == 2);
  CHECK(a.users("")->size() == 3);
  CHECK(a.users("example.net")->size() == 1);
  CHECK(a.users("ample.org")->empty());  // whole domain match, not a suffix
  CHECK(a.users("org")->empty());

  // Overwrite.
  u.quota = 1;
  REQUIRE(a.put_user(u).is_ok());
  CHECK((*a.user("alice@example.org"))->quota == 1);

  REQUIRE(a.put_alias(make_alias("sales@example.org", {"alice@example.org", "bob@example.org"})).is_ok());
  REQUIRE(a.put_alias(make_alias("info@example.net", {"carol@example.net"})).is_ok());
  auto al = a.alias("sales@example.org");
  REQUIRE(al.is_ok());
  REQUIRE(al->has_value());
  CHECK((*al)->targets == std::vector<std::string>{"alice@example.org", "bob@example.org"});
  CHECK(a.aliases("example.org")->size() == 1);
  CHECK(a.aliases("")->size() == 2);

  auto du = a.delete_user("bob@example.org");
  REQUIRE(du.is_ok());
  CHECK(*du);
  CHECK_FALSE(*a.delete_user("bob@example.org"));
  CHECK_FALSE(a.user("bob@example.org")->has_value());
  auto da = a.delete_alias("sales@example.org");
  REQUIRE(da.is_ok());
  CHECK(*da);
  CHECK_FALSE(*a.delete_alias("sales@example.org"));
}

TEST_CASE("delete_domain removes its users and aliases, and only those") {
  TempDir t;
  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE(acc.is_ok());
  Accounts& a = **acc;
  for (const char* dom : {"example.org", "sub.example.org", "anexample.org"}) {
    Domain d;
    d.name = dom;
    REQUIRE(a.put_domain(d).is_ok());
    REQUIRE(a.put_user(make_user(std::string("u1@") + dom)).is_ok());
    REQUIRE(a.put_user(make_user(std::string("u2@") + dom)).is_ok());
    REQUIRE(a.put_alias(make_alias(std::string("al@") + dom, {"x@y.example"})).is_ok());
  }
  auto r = a.delete_domain("example.org");
  REQUIRE(r.is_ok());
  CHECK(*r);
  CHECK_FALSE(a.domain("example.org")->has_value());
  CHECK(a.users("example.org")->empty());
  CHECK(a.aliases("example.org")->empty());
  CHECK_FALSE(a.user("u1@example.org")->has_value());
  // Neighbours with a similar name are untouched.
  CHECK(a.users("sub.example.org")->size() == 2);
  CHECK(a.users("anexample.org")->size() == 2);
  CHECK(a.aliases("sub.example.org")->size() == 1);
  CHECK(a.domains()->size() == 2);
  // Deleting a domain that is not there still clears stray users of that name.
  REQUIRE(a.put_user(make_user("stray@gone.example")).is_ok());
  auto g = a.delete_domain("gone.example");
  REQUIRE(g.is_ok());
  CHECK_FALSE(*g);
  CHECK_FALSE(a.user("stray@gone.example")->has_value());
}

TEST_CASE("read-only opens see what a writer stored") {
  TempDir t;
  const std::string path = t.dir + "/accounts.mdb";
  CHECK_FALSE(Accounts::open(path, false).is_ok());  // not created by a reader
  {
    auto w = Accounts::open(path, true);
    REQUIRE(w.is_ok());
    Domain d;
    d.name = "example.org";
    REQUIRE((*w)->put_domain(d).is_ok());
  }
  auto r = Accounts::open(path, false);
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  CHECK((*r)->domain("example.org")->has_value());
  Domain d;
  d.name = "example.net";
  CHECK_FALSE((*r)->put_domain(d).is_ok());
}

TEST_CASE("a corrupt record is an error, not a crash") {
  TempDir t;
  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE(acc.is_ok());
  auto dbi = (*acc)->env().dbi("users", false);
  REQUIRE(dbi.is_ok());
  REQUIRE((*acc)
              ->env()
              .update([&](common::lmdb::WriteTxn& w) { return w.put(*dbi, "bad@example.org", "\x00\x00"); })
              .is_ok());
  auto u = (*acc)->user("bad@example.org");
  REQUIRE_FALSE(u.is_ok());
  CHECK(u.message().find("corrupt record for 'bad@example.org'") != std::string::npos);
  CHECK_FALSE((*acc)->users("").is_ok());
}

TEST_CASE("a user record written before junk_folder existed reads with the default") {
  TempDir t;
  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE(acc.is_ok());
  User u = make_user("old@example.org");
  u.junk_folder = false;
  REQUIRE((*acc)->put_user(u).is_ok());
  auto got = (*acc)->user("old@example.org");
  REQUIRE(got.is_ok());
  CHECK_FALSE((*got)->junk_folder);  // the new field round-trips
  // The older layout: the same record without its last byte (junk_folder).
  auto dbi = (*acc)->env().dbi("users", false);
  REQUIRE(dbi.is_ok());
  std::string bytes;
  {
    auto r = (*acc)->env().read();
    REQUIRE(r.is_ok());
    auto v = r->get(*dbi, "old@example.org");
    REQUIRE((v.is_ok() && v->has_value()));
    bytes = std::string(**v);
  }
  bytes.pop_back();
  REQUIRE((*acc)
              ->env()
              .update([&](common::lmdb::WriteTxn& w) { return w.put(*dbi, "old@example.org", bytes); })
              .is_ok());
  got = (*acc)->user("old@example.org");
  REQUIRE_MESSAGE(got.is_ok(), got.message());
  CHECK((*got)->junk_folder);
  CHECK((*got)->maildir == "example.org/old");
}

TEST_CASE("domain names an administrator may create") {
  for (const char* ok :
       {"example.org", "a.b.c.example", "x-y.example", "1.example", "localhost", "xn--bcher-kva.example"})
    CHECK_MESSAGE(valid_domain_name(ok), ok);
  for (const char* bad : {"",
                          ".",
                          "..",
                          "../x",
                          "a/b",
                          "a\\b",
                          "example",
                          "Example.org",
                          "EXAMPLE.ORG",
                          "example.org.",
                          ".example.org",
                          "a..b",
                          "-a.example",
                          "a-.example",
                          "a_b.example",
                          "a b.example",
                          "[192.0.2.1]",
                          "b\xC3\xBC"
                          "cher.example",
                          "example.org/..",
                          "x.example\n"})
    CHECK_MESSAGE(!valid_domain_name(bad), bad);
  CHECK_FALSE(valid_domain_name(std::string("a.ex\0ample", 10)));
}

TEST_CASE("user names an administrator may create") {
  for (const char* ok : {"alice", "a", "a.b", "a_b", "a-b", "a-", "0", "first.last-2"})
    CHECK_MESSAGE(valid_user_local(ok), ok);
  for (const char* bad :
       {"",    ".",   "..",  "../x", "a/b", ".hidden", "-dash",    "a.",  "a..b", "Alice", "ALICE",
        "a+b", "a b", "a@b", "a%b",  "a!b", "\"a\"",   "\xC3\xB8", "a\n", "a\\b", "~a"})
    CHECK_MESSAGE(!valid_user_local(bad), bad);
  CHECK(valid_user_local(std::string(64, 'a')));
  CHECK_FALSE(valid_user_local(std::string(65, 'a')));
  CHECK_FALSE(valid_user_local(std::string("a\0b", 3)));
}

TEST_CASE("split_user_address") {
  auto r = split_user_address("alice@example.org");
  REQUIRE(r.is_ok());
  CHECK(r->first == "alice");
  CHECK(r->second == "example.org");
  for (const char* bad :
       {"alice", "@example.org", "alice@", "Alice@example.org", "alice@Example.org", "../x@example.org",
        "alice@../x", "a/b@example.org", "alice@example.org/..", "a@b@example.org", ".@example.org",
        "..@example.org", "alice@.", "alice@..", "\"a\"@example.org"}) {
    auto b = split_user_address(bad);
    CHECK_MESSAGE(!b.is_ok(), bad);
  }
}

TEST_CASE("password hashes are yescrypt and check right") {
  auto h = hash_password("correct horse battery staple");
  REQUIRE_MESSAGE(h.is_ok(), h.message());
  CHECK(h->rfind("$y$", 0) == 0);
  CHECK(check_password("correct horse battery staple", *h));
  CHECK_FALSE(check_password("correct horse battery stapl", *h));
  CHECK_FALSE(check_password("", *h));
  CHECK_FALSE(check_password("Correct horse battery staple", *h));
  // A fresh salt every time.
  auto h2 = hash_password("correct horse battery staple");
  REQUIRE(h2.is_ok());
  CHECK(*h2 != *h);
  CHECK(check_password("correct horse battery staple", *h2));
  // Empty, garbage or truncated hashes never match; NUL in a password is refused.
  CHECK_FALSE(check_password("x", ""));
  CHECK_FALSE(check_password("x", "*"));
  CHECK_FALSE(check_password("x", "garbage"));
  CHECK_FALSE(check_password("correct horse battery staple", h->substr(0, h->size() - 1)));
  CHECK_FALSE(hash_password(std::string_view("a\0b", 3)).is_ok());
  CHECK_FALSE(check_password(std::string_view("correct horse battery staple\0x", 30), *h));
  // An empty password can be hashed and checked (policy is the caller's).
  auto e = hash_password("");
  REQUIRE(e.is_ok());
  CHECK(check_password("", *e));
  CHECK_FALSE(check_password(" ", *e));
  // UTF-8 passwords are just bytes.
  auto u = hash_password("p\xC3\xA4ssw\xC3\xB6rd");
  REQUIRE(u.is_ok());
  CHECK(check_password("p\xC3\xA4ssw\xC3\xB6rd", *u));
}

TEST_CASE("password store") {
  TempDir t;
  const std::string path = t.dir + "/passwd.mdb";
  auto p = Passwords::open(path, true);
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  auto h = hash_password("s3cret");
  REQUIRE(h.is_ok());
  REQUIRE((*p)->set("alice@example.org", *h).is_ok());
  auto got = (*p)->hash("alice@example.org");
  REQUIRE(got.is_ok());
  REQUIRE(got->has_value());
  CHECK(**got == *h);

  auto ok = (*p)->verify("alice@example.org", "s3cret");
  REQUIRE(ok.is_ok());
  CHECK(*ok);
  auto wrong = (*p)->verify("alice@example.org", "S3cret");
  REQUIRE(wrong.is_ok());
  CHECK_FALSE(*wrong);
  auto missing = (*p)->verify("nobody@example.org", "s3cret");
  REQUIRE(missing.is_ok());
  CHECK_FALSE(*missing);
  CHECK_FALSE(*(*p)->verify("nobody@example.org", ""));

  auto rm = (*p)->remove("alice@example.org");
  REQUIRE(rm.is_ok());
  CHECK(*rm);
  CHECK_FALSE(*(*p)->remove("alice@example.org"));
  CHECK_FALSE(*(*p)->verify("alice@example.org", "s3cret"));

  // A reader opened apart sees the writer's hashes.
  REQUIRE((*p)->set("bob@example.org", *h).is_ok());
  p->reset();
  auto ro = Passwords::open(path, false);
  REQUIRE_MESSAGE(ro.is_ok(), ro.message());
  CHECK(*(*ro)->verify("bob@example.org", "s3cret"));
  CHECK_FALSE((*ro)->set("carol@example.org", *h).is_ok());
}

TEST_CASE("relative maildir paths: no traversal") {
  CHECK(valid_relative_maildir("example.org/user"));
  CHECK(valid_relative_maildir("example.org/first.last"));
  CHECK_FALSE(valid_relative_maildir(""));
  CHECK_FALSE(valid_relative_maildir("/etc"));
  CHECK_FALSE(valid_relative_maildir("example.org/../../etc"));
  CHECK_FALSE(valid_relative_maildir(".."));
  CHECK_FALSE(valid_relative_maildir("example.org/./u"));
  CHECK_FALSE(valid_relative_maildir("example.org//u"));
  CHECK_FALSE(valid_relative_maildir("example.org/u/"));
  CHECK_FALSE(valid_relative_maildir("example.org/u ser"));
  CHECK_FALSE(valid_relative_maildir(std::string("example.org/u\0x", 15)));
}

TEST_CASE("relay recipient lists: add, replace, delete; readers of an older database see none") {
  TempDir t;
  {
    auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
    REQUIRE(acc.is_ok());
    // The database as an older mailctl wrote it: no relay recipient database in it yet.
    Domain d;
    d.name = "example.org";
    REQUIRE((*acc)->put_domain(d).is_ok());
  }
  auto ro = Accounts::open(t.dir + "/accounts.mdb", false);
  REQUIRE_MESSAGE(ro.is_ok(), ro.message());
  CHECK(*(*ro)->relay_list("primary.test") == false);
  CHECK(*(*ro)->relay_recipient("boss@primary.test") == false);

  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE(acc.is_ok());
  Accounts& a = **acc;
  REQUIRE(a.put_relay_recipients("primary.test", {"boss@primary.test", "sales@primary.test"}, false).is_ok());
  REQUIRE(a.put_relay_recipients("other.test", {}, false).is_ok());  // an empty list
  // The reader opened before the list existed finds it now.
  CHECK(*(*ro)->relay_list("primary.test"));
  CHECK(*(*ro)->relay_recipient("boss@primary.test"));
  CHECK_FALSE(*(*ro)->relay_recipient("nobody@primary.test"));
  CHECK(*a.relay_list("other.test"));
  CHECK(*a.relay_recipients("primary.test") ==
        std::vector<std::string>{"@primary.test", "boss@primary.test", "sales@primary.test"});
  REQUIRE(a.put_relay_recipients("primary.test", {"new@primary.test"}, true).is_ok());
  CHECK(*a.relay_recipients("primary.test") == std::vector<std::string>{"@primary.test", "new@primary.test"});
  CHECK(a.relay_recipients("")->size() == 3);
  CHECK(*a.delete_relay_recipient("new@primary.test"));
  CHECK_FALSE(*a.delete_relay_recipient("new@primary.test"));
  CHECK(*a.relay_list("primary.test"));  // still a list, now empty
  CHECK(*a.delete_relay_list("primary.test"));
  CHECK_FALSE(*a.relay_list("primary.test"));
  CHECK_FALSE(*a.delete_relay_list("primary.test"));
}

TEST_CASE("ODMR grants: listed by login, put twice is one, delete says whether it was there") {
  TempDir t;
  {
    auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
    REQUIRE(acc.is_ok());
  }
  // A reader of a database written before the grants existed finds none.
  auto ro = Accounts::open(t.dir + "/accounts.mdb", false);
  REQUIRE(ro.is_ok());
  CHECK((*ro)->atrn_grants("site@isp.test")->empty());
  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE(acc.is_ok());
  Accounts& a = **acc;
  auto grant = [](std::string login, std::string domain) {
    AtrnGrant g;
    g.login = std::move(login);
    g.domain = std::move(domain);
    return g;
  };
  REQUIRE(a.put_atrn_grant(grant("site@isp.test", "primary.test")).is_ok());
  REQUIRE(a.put_atrn_grant(grant("site@isp.test", "primary.test")).is_ok());
  REQUIRE(a.put_atrn_grant(grant("site@isp.test", "second.test")).is_ok());
  // A login that is a prefix of another's is not mixed up with it.
  REQUIRE(a.put_atrn_grant(grant("site@isp.test.x", "other.test")).is_ok());
  auto mine = (*ro)->atrn_grants("site@isp.test");
  REQUIRE(mine.is_ok());
  REQUIRE(mine->size() == 2);
  CHECK((*mine)[0].domain == "primary.test");
  CHECK((*mine)[1].domain == "second.test");
  CHECK(a.atrn_grants("")->size() == 3);
  CHECK(*a.delete_atrn_grant(grant("site@isp.test", "primary.test")));
  CHECK_FALSE(*a.delete_atrn_grant(grant("site@isp.test", "primary.test")));
  CHECK(a.atrn_grants("site@isp.test")->size() == 1);
}

TEST_CASE("filter rules: put replaces by key, delete, readers of an older database see none") {
  TempDir t;
  {
    auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
    REQUIRE(acc.is_ok());
  }
  auto ro = Accounts::open(t.dir + "/accounts.mdb", false);
  REQUIRE(ro.is_ok());
  CHECK((*ro)->filter_rules()->empty());
  auto acc = Accounts::open(t.dir + "/accounts.mdb", true);
  REQUIRE(acc.is_ok());
  Accounts& a = **acc;
  FilterRule r{kRecordVersion, "sender", "*@spam.example", "reject", ""};
  CHECK_FALSE(*a.put_filter_rule(r));
  r.action = "allow";
  CHECK(*a.put_filter_rule(r));  // same kind, scope and pattern: replaced
  FilterRule scoped{kRecordVersion, "sender", "*@spam.example", "reject", "example.org"};
  CHECK_FALSE(*a.put_filter_rule(scoped));
  FilterRule size{kRecordVersion, "attachment-size", "1000", "reject", ""};
  CHECK_FALSE(*a.put_filter_rule(size));
  size.pattern = "2000";
  CHECK(*a.put_filter_rule(size));  // one limit
  auto all = (*ro)->filter_rules();
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].kind == "attachment-size");
  CHECK((*all)[0].pattern == "2000");
  CHECK((*all)[1].action == "allow");
  CHECK(*a.delete_filter_rule(scoped));
  CHECK_FALSE(*a.delete_filter_rule(scoped));
  CHECK(a.filter_rules()->size() == 2);
  FilterRule huge{kRecordVersion, "word", std::string(600, 'x'), "reject", ""};
  CHECK_FALSE(a.put_filter_rule(huge).is_ok());
}
