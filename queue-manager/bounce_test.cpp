// Unit tests for delivery status notifications (RFC 3464, RFC 6522, RFC 3834).
#include "queue-manager/bounce.hpp"

#include <doctest/doctest.h>

using namespace qmgr;

namespace {

Message original() {
  Message m;
  m.id = "0000000000001ABC";
  m.arrival = 1700000000;
  m.sender = "alice@example.net";
  m.rcpts.push_back(
      Rcpt{"bob@example.test", RcptState::kFailed, 1, "5.1.1", "550 5.1.1 <bob@example.test>: no such user"});
  m.rcpts.push_back(Rcpt{"carol@example.test", RcptState::kDone, 1, "2.0.0", "ok"});
  m.rcpts.push_back(Rcpt{"dave@example.test", RcptState::kFailed, 3, "4.4.7", "message expired"});
  return m;
}

}  // namespace

TEST_CASE("a failure notice is a multipart/report with a delivery-status part (RFC 3464 2)") {
  Message m = original();
  NoticeInput in;
  in.kind = NoticeKind::kFailed;
  in.msg = &m;
  in.rcpts = {&m.rcpts[0], &m.rcpts[2]};
  in.hostname = "mail.example.test";
  in.to = m.sender;
  in.new_id = "0000000000002DEF";
  in.original_headers = "Subject: hello\nFrom: alice@example.net\n";
  in.now = 1700003600;
  in.expires = m.arrival + 5 * 86400;
  std::string n = compose_notice(in);
  CHECK(n.find("To: <alice@example.net>\n") != std::string::npos);
  CHECK(n.find("From: Mail Delivery System <MAILER-DAEMON@mail.example.test>\n") != std::string::npos);
  // RFC 3834 5: keeps vacation responders quiet.
  CHECK(n.find("Auto-Submitted: auto-replied\n") != std::string::npos);
  CHECK(n.find("Content-Type: multipart/report; report-type=delivery-status;") != std::string::npos);
  CHECK(n.find("Content-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.test\n") !=
        std::string::npos);
  // Per-recipient fields (RFC 3464 2.3): only the failed recipients.
  CHECK(n.find("Final-Recipient: rfc822; bob@example.test\nAction: failed\nStatus: 5.1.1\n"
               "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.test>: no such user\n") != std::string::npos);
  CHECK(n.find("Final-Recipient: rfc822; dave@example.test\nAction: failed\nStatus: 4.4.7\n"
               "Diagnostic-Code: X-Mailbag; message expired\n") != std::string::npos);
  CHECK(n.find("carol@example.test") == std::string::npos);
  // RFC 6522: the original headers as text/rfc822-headers.
  CHECK(n.find("Content-Type: text/rfc822-headers\n\nSubject: hello\nFrom: alice@example.net\n") !=
        std::string::npos);
  CHECK(n.find("--0000000000002DEF/mail.example.test--\n") != std::string::npos);
  // No line may exceed RFC 5322 2.1.1's 998 characters.
  std::size_t start = 0;
  while (start < n.size()) {
    std::size_t nl = n.find('\n', start);
    CHECK(nl != std::string::npos);
    CHECK(nl - start <= 998);
    start = nl + 1;
  }
}

TEST_CASE("a delay warning says delayed, with a 4.x.x status and the retry limit") {
  Message m = original();
  m.rcpts[0].state = RcptState::kPending;
  m.rcpts[0].status = "4.4.1";
  m.rcpts[0].text = "connection refused";
  NoticeInput in;
  in.kind = NoticeKind::kDelayed;
  in.msg = &m;
  in.rcpts = {&m.rcpts[0]};
  in.hostname = "mail.example.test";
  in.to = m.sender;
  in.new_id = "0000000000002DEF";
  in.now = m.arrival + 4 * 3600;
  in.expires = m.arrival + 5 * 86400;
  std::string n = compose_notice(in);
  CHECK(n.find("Subject: Delayed Mail") != std::string::npos);
  CHECK(n.find("Action: delayed\nStatus: 4.4.1\n") != std::string::npos);
  CHECK(n.find("Will-Retry-Until: " + rfc5322_date(in.expires)) != std::string::npos);
}

TEST_CASE("diagnostics cannot inject header lines") {
  Message m = original();
  m.rcpts[0].text = "550 bad\nX-Injected: yes";
  NoticeInput in;
  in.msg = &m;
  in.rcpts = {&m.rcpts[0]};
  in.hostname = "h.example";
  in.to = m.sender;
  in.new_id = "0000000000002DEF";
  std::string n = compose_notice(in);
  CHECK(n.find("\nX-Injected") == std::string::npos);
}

TEST_CASE("header_block stops at the empty line and at a line boundary") {
  CHECK(header_block("A: 1\nB: 2\n\nbody\n", 1000) == "A: 1\nB: 2\n");
  CHECK(header_block("A: 1\nB: 2\n", 1000) == "A: 1\nB: 2\n");
  CHECK(header_block("A: 1\nB: 22222\n\nbody", 8) == "A: 1\n");
  CHECK(rfc5322_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST_CASE("RFC 3461 with RFC 3464 2.2.1, 2.3.1: ENVID, ORCPT, success, RET=FULL") {
  Message m = original();
  NoticeInput in;
  in.kind = NoticeKind::kDelivered;
  in.msg = &m;
  in.rcpts = {&m.rcpts[1], &m.rcpts[0]};
  in.hostname = "mail.example.test";
  in.to = m.sender;
  in.new_id = "0000000000002DEF";
  in.original_headers = "Subject: hello\n";
  in.envid = "QQ314159";
  in.orcpts = {"rfc822;Carol@Example.test", ""};
  in.relayed = {false, true};
  in.now = 1700003600;
  std::string n = compose_notice(in);
  CHECK(n.find("Subject: Successful Mail Delivery Report\n") != std::string::npos);
  CHECK(n.find("Original-Envelope-Id: QQ314159\nReporting-MTA: dns; mail.example.test\n") !=
        std::string::npos);
  CHECK(n.find("Original-Recipient: rfc822; Carol@Example.test\nFinal-Recipient: rfc822; carol@example.test\n"
               "Action: delivered\nStatus: 2.0.0\n") != std::string::npos);
  CHECK(n.find("Final-Recipient: rfc822; bob@example.test\nAction: relayed\nStatus: 2.0.0\n") !=
        std::string::npos);
  CHECK(n.find("Diagnostic-Code") == std::string::npos);
  CHECK(n.find("Content-Type: text/rfc822-headers\n\nSubject: hello\n") != std::string::npos);

  in.kind = NoticeKind::kFailed;
  in.full = true;
  in.original = "Subject: hello\n\nthe body\n";
  n = compose_notice(in);
  CHECK(n.find("Content-Type: message/rfc822\n\nSubject: hello\n\nthe body\n") != std::string::npos);
  CHECK(n.find("text/rfc822-headers") == std::string::npos);
}
