// Unit tests of the session's lookups (lookups.hpp): answered at once by a backend that
// can (LMDB), or asked (Output::lookup) and answered later (PostgreSQL's database
// thread) with the same replies; commands pipelined behind a lookup (RFC 2920 3.1)
// waiting for it and answered in order; a lookup that cannot be made, and a relay
// database that cannot be read, giving 451 4.3.0 and never a 5xx.
#include <doctest/doctest.h>

#include "smtpd/lookups.hpp"
#include "smtpd/session.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using Harness = testing::SessionHarness;

namespace {

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The reply to one RCPT after MAIL, from a harness whose lookups are inline or deferred.
std::string rcpt_reply(bool deferred, const std::string& address, SessionConfig c = testing::test_config()) {
  Harness h(c);
  h.backend.defer_lookups = deferred;
  h.send("EHLO c.test\r\n");
  std::string r = h.send("MAIL FROM:<s@sender.example>\r\n");
  if (deferred) {
    REQUIRE(r.empty());
    r = h.answer_lookup();
  }
  REQUIRE(starts(r, "250 2.1.0"));
  r = h.send("RCPT TO:<" + address + ">\r\n");
  if (deferred) {
    REQUIRE(r.empty());
    r = h.answer_lookup();
  }
  return r;
}

}  // namespace

TEST_CASE("lookups: the same replies whether answered at once or later") {
  SessionConfig c = testing::test_config();
  c.relay_domains = {"backup.example"};
  for (const char* a : {"alice@example.test", "ALICE@alias.test", "nobody@example.test", "gone@example.test",
                        "anything@catchall.test", "info@example.test", "x@far.example", "a%b@example.test",
                        "postmaster@mx.example.test", "any@backup.example"}) {
    INFO(a);
    CHECK(rcpt_reply(false, a, c) == rcpt_reply(true, a, c));
  }
  CHECK(starts(rcpt_reply(true, "alice@example.test"), "250 2.1.5"));
  CHECK(starts(rcpt_reply(true, "nobody@example.test"), "550 5.1.1"));
  CHECK(starts(rcpt_reply(true, "x@far.example"), "554 5.7.1"));
}

TEST_CASE("lookups: RFC 2920 3.1, commands pipelined behind a lookup wait and are answered in order") {
  Harness h;
  h.backend.defer_lookups = true;
  h.send("EHLO c.test\r\n");
  CHECK(h.send("MAIL FROM:<s@sender.example>\r\nRCPT TO:<alice@example.test>\r\nNOOP\r\n").empty());
  REQUIRE(h.lookup.has_value());
  CHECK(h.lookup->kind == LookupRequest::Kind::kMail);
  CHECK(h.send("RCPT TO:<bob@example.test>\r\n").empty());  // still waiting: held
  // MAIL's answer; RCPT then asks its own lookup and the rest waits again.
  CHECK(h.answer_lookup() == "250 2.1.0 Ok\r\n");
  REQUIRE(h.lookup.has_value());
  CHECK(h.lookup->kind == LookupRequest::Kind::kRcpt);
  CHECK(h.lookup->rcpt.key() == "alice@example.test");
  CHECK(h.answer_lookup() == "250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
  REQUIRE(h.lookup.has_value());
  CHECK(h.lookup->earlier.size() == 1);  // alice, for the per-domain limits
  CHECK(h.answer_lookup() == "250 2.1.5 Ok\r\n");
  CHECK_FALSE(h.lookup.has_value());
  // The transaction holds both, with their DSN parameters, and goes on as usual.
  CHECK(h.send("DATA\r\n") == "354 End data with <CR><LF>.<CR><LF>\r\n");
  h.send("Subject: x\r\n\r\nhi\r\n.\r\n");
  CHECK(h.submissions == 1);
  CHECK(h.envelope.recipients == std::vector<std::string>{"alice@example.test", "bob@example.test"});
}

TEST_CASE("lookups: a session waiting for its lookup takes no other answer and is not timed out") {
  Harness h;
  h.backend.defer_lookups = true;
  h.send("EHLO c.test\r\nMAIL FROM:<s@sender.example>\r\n");
  REQUIRE(h.lookup.has_value());
  CHECK_FALSE(h.s.wants_input());  // the I/O layer's idle timer leaves it alone
  CHECK(h.take(h.s.check_done({})).empty());
  CHECK(h.answer_lookup() == "250 2.1.0 Ok\r\n");
  CHECK(h.take(h.s.lookup_done(LookupAnswer())).empty());  // no lookup asked: ignored
}

TEST_CASE("lookups: one that cannot be made is 451 4.3.0 (RFC 5321 4.2.5), at MAIL and at RCPT") {
  Harness h;
  h.backend.defer_lookups = true;
  h.send("EHLO c.test\r\nMAIL FROM:<s@sender.example>\r\n");
  REQUIRE(h.lookup.has_value());
  std::string r = h.take(h.s.lookup_done(lookup_unavailable(*h.lookup, "queue full")));
  CHECK(starts(r, "451 4.3.0 "));
  h.lookup.reset();
  h.send("MAIL FROM:<s@sender.example>\r\n");
  CHECK(h.answer_lookup() == "250 2.1.0 Ok\r\n");
  h.send("RCPT TO:<alice@example.test>\r\n");
  REQUIRE(h.lookup.has_value());
  CHECK(starts(h.take(h.s.lookup_done(lookup_unavailable(*h.lookup, "queue full"))), "451 4.3.0 "));
  h.lookup.reset();
  // The transaction is still open and the client may try the recipient again.
  h.send("RCPT TO:<alice@example.test>\r\n");
  CHECK(h.answer_lookup() == "250 2.1.5 Ok\r\n");
}

TEST_CASE("lookups: a database that cannot be read defers, never refuses") {
  Harness h;
  h.backend.defer_lookups = true;
  h.backend.dir.broken = true;
  h.send("EHLO c.test\r\nMAIL FROM:<s@sender.example>\r\n");
  CHECK(h.answer_lookup() == "250 2.1.0 Ok\r\n");
  h.send("RCPT TO:<alice@example.test>\r\n");
  CHECK(starts(h.answer_lookup(), "451 4.3.0 "));
}

TEST_CASE(
    "POP-before-SMTP: a relay database that cannot be read gives 451 4.3.0, not 554, and is asked again") {
  SessionConfig c = testing::test_config();
  c.pop_before_smtp = true;
  Harness h(c);
  h.backend.relay_db.insert("192.0.2.7");
  h.backend.relay_db_broken = true;
  h.send("EHLO c.test\r\n");
  CHECK(starts(h.send("MAIL FROM:<a@b.test>\r\n"), "250 2.1.0"));
  CHECK(starts(h.send("RCPT TO:<x@far.example>\r\n"), "451 4.3.0 "));
  CHECK(starts(h.send("RCPT TO:<a%b@far.example>\r\n"), "451 4.3.0 "));
  CHECK(starts(h.send("RCPT TO:<alice@example.test>\r\n"), "250 2.1.5"));  // local needs no relay
  CHECK(h.backend.relay_db_lookups == 1);
  // Readable again: the next transaction asks again, and the grant holds.
  h.backend.relay_db_broken = false;
  h.send("RSET\r\nMAIL FROM:<a@b.test>\r\n");
  CHECK(h.backend.relay_db_lookups == 2);
  CHECK(starts(h.send("RCPT TO:<x@far.example>\r\n"), "250 2.1.5"));
  // RFC 6409 4.3: on a submission port the same failure defers MAIL instead of 530.
  SessionConfig sub = c;
  sub.port = Port::kSubmission;
  Harness s(sub);
  s.backend.relay_db_broken = true;
  s.send("EHLO c.test\r\n");
  CHECK(s.send("MAIL FROM:<a@b.test>\r\n").substr(0, 10) == "451 4.3.0 ");
  s.backend.relay_db_broken = false;
  CHECK(s.send("MAIL FROM:<a@b.test>\r\n").substr(0, 10) == "530 5.7.0 ");
}
