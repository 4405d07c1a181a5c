// Tests of the accounts dump text (db_dump.hpp): every field round-trips, bad lines are
// refused with their number.
#include "mailctl/db_dump.hpp"

#include <doctest/doctest.h>

using mailctl::Dump;

TEST_CASE("a dump round-trips every record and field") {
  Dump d;
  common::accounts::Domain dom;
  dom.name = "example.org";
  dom.catchall = "all@example.org";
  dom.max_recipients = 7;
  d.domains.push_back(dom);
  common::accounts::User u;
  u.address = "a@example.org";
  u.maildir = "example.org/a";
  u.forward = {"x@example.net"};
  u.autoreply.text = "away\nback monday";
  u.junk_folder = false;
  d.users.push_back(u);
  common::accounts::Alias al;
  al.address = "team@example.org";
  al.targets = {"a@example.org", "b@example.net"};
  d.aliases.push_back(al);
  common::accounts::FilterRule r;
  r.kind = "word";
  r.pattern = "buy now";
  r.action = "junk";
  d.rules.push_back(r);
  d.passwords.emplace_back("a@example.org", "$y$j9T$salt$hash");
  d.relay_recipients = {"@example.net", "b@example.net"};
  d.relay_clients.push_back({"192.0.2.1", 1700000000});
  common::accounts::AtrnGrant g;
  g.login = "a@example.org";
  g.domain = "site.example";
  d.atrn_grants.push_back(g);
  auto text = mailctl::format_dump(d);
  auto back = mailctl::parse_dump(text);
  REQUIRE_MESSAGE(back, back.message());
  CHECK(back->domains.at(0).catchall == "all@example.org");
  CHECK(back->domains.at(0).max_recipients == 7);
  CHECK(back->users.at(0).autoreply.text == "away\nback monday");
  CHECK_FALSE(back->users.at(0).junk_folder);
  CHECK(back->aliases.at(0).targets.size() == 2);
  CHECK(back->rules.at(0).pattern == "buy now");
  CHECK(back->passwords == d.passwords);
  CHECK(back->relay_recipients == d.relay_recipients);
  CHECK(back->relay_clients == d.relay_clients);
  REQUIRE(back->atrn_grants.size() == 1);
  CHECK(back->atrn_grants[0].login == "a@example.org");
  CHECK(back->atrn_grants[0].domain == "site.example");
  CHECK(mailctl::format_dump(*back) == text);
}

TEST_CASE("bad dumps are refused with the line") {
  CHECK_FALSE(mailctl::parse_dump(""));
  CHECK_FALSE(mailctl::parse_dump("domain abc\n"));
  const std::string h = "# mailbag accounts dump 1\n";
  auto bad = mailctl::parse_dump(h + "domain !!!\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.message().find("line 2") != std::string::npos);
  CHECK_FALSE(mailctl::parse_dump(h + "user\n"));
  CHECK_FALSE(mailctl::parse_dump(h + "password a@example.org\n"));
  CHECK_FALSE(mailctl::parse_dump(h + "relay-client 999.1.1.1 5\n"));
  CHECK_FALSE(mailctl::parse_dump(h + "relay-client 192.0.2.1 soon\n"));
  CHECK_FALSE(mailctl::parse_dump(h + "frobnicate x\n"));
  CHECK(mailctl::parse_dump(h + "# comment\n\n"));
}
