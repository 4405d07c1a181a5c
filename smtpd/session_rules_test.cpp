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

TEST_CASE("content rules: sent with the data check, verdicts at the end of DATA") {
  for (int verdict : {0, 1, 2, 3, 4}) {
    RulesHarness h;
    h.backend.dir.db.filter_rule_list.push_back(rule({"word", "Cheap Pills", "reject"}));
    h.backend.dir.db.filter_rule_list.push_back(rule({"word", "lottery", "junk"}));
    h.backend.dir.db.filter_rule_list.push_back(rule({"attachment-size", "1000"}));
    h.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
    Output o = h.s->feed("Subject: x\r\n\r\nhello\r\n.\r\n");
    CAPTURE(verdict);
    REQUIRE(o.check.has_value());  // no built-in check configured: asked for the rules alone
    CHECK(o.check->stage == common::ipc::CheckStage::kData);
    CHECK(o.check->reject_words == std::vector<std::string>{"cheap pills"});
    CHECK(o.check->junk_words == std::vector<std::string>{"lottery"});
    CHECK(o.check->attachment_max == 1000);
    CHECK(o.check_fd.get() >= 0);
    common::ipc::CheckDone v;
    v.content = static_cast<std::uint8_t>(verdict);
    v.content_detail = "part 1";
    Output done = h.s->check_done(v);
    switch (verdict) {
      case 0:
      case 2: {
        REQUIRE(done.submit.has_value());
        std::string file = testing::read_all(done.submit->fd.get());
        CHECK((file.find("\nJ 1\n") != std::string::npos) == (verdict == 2));
        CHECK(file.find("Authentication-Results") == std::string::npos);  // no checks, no header
        break;
      }
      case 1: CHECK(done.bytes.rfind("550 5.7.1 ", 0) == 0); break;
      case 3: CHECK(done.bytes.rfind("552 5.3.4 ", 0) == 0); break;
      case 4: CHECK(done.bytes.rfind("554 5.6.0 ", 0) == 0); break;
    }
  }
}

TEST_CASE("content rules: without them, and without checks, no data check") {
  RulesHarness h;  // sender and client rules only
  h.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
  Output o = h.s->feed("Subject: x\r\n\r\nhello\r\n.\r\n");
  CHECK_FALSE(o.check.has_value());
  CHECK(o.submit.has_value());
}
