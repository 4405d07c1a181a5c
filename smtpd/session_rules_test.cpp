// Unit tests for the filtering rules in the session (session_rules.cpp): which clients
// they apply to, the replies at MAIL and RCPT, and a change seen by the next MAIL.
#include <doctest/doctest.h>

#include "common/checks/rules.hpp"
#include "smtpd/session.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;

namespace {

common::accounts::FilterRule rule(std::vector<std::string> w) {
  auto r = common::checks::parse_rule(w, false);
  REQUIRE(r.is_ok());
  return *r;
}

struct RulesHarness {
  explicit RulesHarness(ClientInfo client = testing::test_client(), Port port = Port::kMx) {
    cfg = testing::test_config();
    cfg.port = port;
    backend.dir.db.filter_rule_list = {rule({"sender", "@spam.example", "reject"}),
                                       rule({"sender", "ok@spam.example", "allow"}),
                                       rule({"sender", "*@scoped.example", "reject", "example.test"}),
                                       rule({"client", "198.51.100.0/24", "reject"})};
    s.emplace(cfg, client, backend);
    s->start();
    s->feed("EHLO c.test\r\n");
  }
  std::string send(std::string_view b) { return s->feed(b).bytes; }
  SessionConfig cfg;
  testing::TestBackend backend;
  std::optional<Session> s;
};

}  // namespace

TEST_CASE("rules: a blocked sender gets 550 5.7.1 at MAIL, an allowed one passes") {
  RulesHarness h;
  CHECK(h.send("MAIL FROM:<x@SPAM.example>\r\n").rfind("550 5.7.1 ", 0) == 0);
  CHECK(h.send("MAIL FROM:<ok@spam.example>\r\n").rfind("250 ", 0) == 0);
  CHECK(h.send("RSET\r\n").rfind("250 ", 0) == 0);
  CHECK(h.send("MAIL FROM:<>\r\n").rfind("250 ", 0) == 0);  // bounces match no pattern
}

TEST_CASE("rules: a rule for one recipient domain refuses at RCPT") {
  RulesHarness h;
  CHECK(h.send("MAIL FROM:<a@scoped.example>\r\n").rfind("250 ", 0) == 0);
  CHECK(h.send("RCPT TO:<alice@example.test>\r\n").rfind("550 5.7.1 ", 0) == 0);
}

TEST_CASE("rules: a blocked client network gets 554 5.7.1 at MAIL") {
  RulesHarness h(ClientInfo{"198.51.100.9", "[198.51.100.9]"});
  std::string r = h.send("MAIL FROM:<anyone@example.net>\r\n");
  CHECK(r.rfind("554 5.7.1 ", 0) == 0);
  CHECK(r.find("198.51.100.0") == std::string::npos);  // the kind, not the rule
}

TEST_CASE("rules: not for relay_networks, logged-in clients or the submission port") {
  ClientInfo trusted = testing::test_client();
  trusted.relay_network = true;
  RulesHarness h(trusted);
  CHECK(h.send("MAIL FROM:<x@spam.example>\r\n").rfind("250 ", 0) == 0);
  RulesHarness sub(testing::test_client(), Port::kSubmission);
  CHECK(sub.send("MAIL FROM:<x@spam.example>\r\n").rfind("530 ", 0) == 0);  // needs AUTH, no rule
}

TEST_CASE("rules: a change is seen at the next MAIL; an unreadable database defers at RCPT") {
  RulesHarness h;
  CHECK(h.send("MAIL FROM:<x@spam.example>\r\n").rfind("550 ", 0) == 0);
  h.backend.dir.db.filter_rule_list.clear();
  CHECK(h.send("MAIL FROM:<x@spam.example>\r\n").rfind("250 ", 0) == 0);
  h.send("RSET\r\n");
  h.backend.dir.broken = true;
  h.backend.dir.db.filter_rule_list = {rule({"sender", "*@spam.example", "reject", "example.test"})};
  CHECK(h.send("MAIL FROM:<x@spam.example>\r\n").rfind("250 ", 0) == 0);
  // The address book answers first when it cannot read the database either.
  CHECK(h.send("RCPT TO:<alice@example.test>\r\n").rfind("451 4.3.0 ", 0) == 0);
}
