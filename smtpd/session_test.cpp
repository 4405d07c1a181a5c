// The session state machine without sockets: sequences, limits, the queue file it
// writes (read back through the queue manager's own validator), STARTTLS, timeouts.
#include "smtpd/session.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "common/spool/queue_file.hpp"
#include "smtpd/received.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

using Harness = testing::SessionHarness;

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("greeting: 220 <hostname> ESMTP Mailbag, no enhanced code (RFC 2034 3)") {
  testing::TestBackend b;
  Session s(testing::test_config(), testing::test_client(), b);
  CHECK(s.start().bytes == "220 mx.example.test ESMTP Mailbag\r\n");
}

TEST_CASE("EHLO lists the extensions; HELO answers one line") {
  Harness h;
  std::string r = h.send("EHLO client.test\r\n");
  CHECK(r ==
        "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"
        "250-ENHANCEDSTATUSCODES\r\n250-ETRN\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN\r\n");
  CHECK(h.send("HELO client.test\r\n") == "250 mx.example.test\r\n");
  CHECK(starts(h.send("EHLO\r\n"), "501 5.5.4"));
}

TEST_CASE("RFC 3207: STARTTLS is advertised only with a certificate and before TLS") {
  SessionConfig c = testing::test_config();
  c.tls_available = true;
  Harness h(c);
  CHECK(h.send("EHLO c.test\r\n").find("250 STARTTLS\r\n") != std::string::npos);
  // CVE-2011-0411: the pipelined RSET must be thrown away, not answered inside TLS.
  CHECK(h.send("STARTTLS\r\nRSET\r\n") == "220 2.0.0 Ready to start TLS\r\n");
  CHECK(h.start_tls);
  CHECK_FALSE(h.s.wants_input());
  CHECK(h.send("NOOP\r\n").empty());  // plaintext before the handshake: dropped
  CHECK(h.take(h.s.tls_established("TLSv1.3 with cipher TEST (256/256 bits)")).empty());
  // RFC 3207 4.2: back to the start; MAIL needs a new EHLO.
  CHECK(starts(h.send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1"));
  std::string e = h.send("EHLO c.test\r\n");
  CHECK(e.find("STARTTLS") == std::string::npos);
  CHECK(starts(h.send("STARTTLS\r\n"), "503 5.5.1"));
  h.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
  CHECK(h.send("hi\r\n.\r\n").empty());
  REQUIRE(h.submissions == 1);
  CHECK(h.envelope.protocol == "ESMTPS");
  CHECK(h.message.find("with ESMTPS id " + h.submitted_id) != std::string::npos);
  CHECK(h.message.find("\t(using TLSv1.3 with cipher TEST (256/256 bits))\n") != std::string::npos);
}

TEST_CASE("STARTTLS without a certificate: 502 5.5.1") {
  Harness h;
  h.send("EHLO c.test\r\n");
  CHECK(h.send("STARTTLS\r\n") == "502 5.5.1 Error: command not implemented\r\n");
  CHECK_FALSE(h.start_tls);
}

TEST_CASE("bad sequences are 503 5.5.1 (RFC 5321 4.1.4, 3.3)") {
  Harness h;
  CHECK(starts(h.send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1"));  // before EHLO
  h.send("EHLO c.test\r\n");
  CHECK(starts(h.send("RCPT TO:<alice@example.test>\r\n"), "503 5.5.1"));  // before MAIL
  CHECK(starts(h.send("DATA\r\n"), "503 5.5.1"));                          // before MAIL
  CHECK(starts(h.send("MAIL FROM:<a@b.test>\r\n"), "250 2.1.0"));
  CHECK(starts(h.send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1"));  // nested
  CHECK(starts(h.send("DATA\r\n"), "503 5.5.1"));                  // no RCPT
  CHECK(starts(h.send("RCPT TO:<nobody@example.test>\r\n"), "550 5.1.1"));
  CHECK(starts(h.send("DATA\r\n"), "503 5.5.1"));  // all recipients refused
  CHECK(starts(h.send("RSET\r\n"), "250 2.0.0"));
  CHECK(starts(h.send("RCPT TO:<alice@example.test>\r\n"), "503 5.5.1"));  // RSET ended it
}

TEST_CASE("a whole transaction writes a valid queue file and answers after the queue manager") {
  Harness h;
  std::string r = h.send(
      "EHLO client.test\r\nMAIL FROM:<Sender@Other.TEST> BODY=8BITMIME\r\n"
      "RCPT TO:<alice@example.test>\r\nRCPT TO:<Bob@Example.test>\r\nDATA\r\n");
  CHECK(r.find("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 ") != std::string::npos);
  CHECK(h.s.in_data());
  CHECK(h.send("Subject: t\r\n\r\n..dot\r\nline\r\n.\r\nNOOP\r\n").empty());
  REQUIRE(h.submissions == 1);
  CHECK_FALSE(h.s.wants_input());
  CHECK(h.envelope.queue_id == h.submitted_id);
  CHECK(h.envelope.sender == "Sender@other.test");
  CHECK(h.envelope.recipients == std::vector<std::string>{"alice@example.test", "Bob@example.test"});
  CHECK(h.envelope.body_8bit);
  CHECK_FALSE(h.envelope.smtputf8);
  CHECK(h.envelope.protocol == "ESMTP");
  CHECK(h.envelope.client == "client.test [192.0.2.7]");
  CHECK(h.envelope.arrival == 1700000000);
  CHECK(starts(h.message,
               "Received: from client.test ([192.0.2.7])\n\tby mx.example.test (Mailbag) with ESMTP id " +
                   h.submitted_id + "; "));
  CHECK(h.message.find("\nSubject: t\n\n.dot\nline\n") != std::string::npos);
  CHECK(h.message.find('\r') == std::string::npos);
  // The NOOP waits for the answer, then both replies go out in order.
  CHECK(h.answer(Outcome::kOk) == "250 2.0.0 Ok: queued as " + h.submitted_id + "\r\n250 2.0.0 Ok\r\n");
  CHECK(h.s.wants_input());
}

TEST_CASE("Received names the single recipient (RFC 5321 4.4) and SMTPUTF8 (RFC 6531 3.7.3)") {
  Harness h;
  h.send("EHLO c.test\r\nMAIL FROM:<j\xc3\xb6rg@b.test> SMTPUTF8\r\nRCPT TO:<Postmaster>\r\nDATA\r\n");
  h.send("x\r\n.\r\n");
  REQUIRE(h.submissions == 1);
  CHECK(h.envelope.smtputf8);
  CHECK(h.envelope.recipients == std::vector<std::string>{"postmaster@mx.example.test"});
  CHECK(h.message.find("with UTF8SMTP id") != std::string::npos);
  CHECK(h.message.find("\n\tfor <postmaster@mx.example.test>; ") != std::string::npos);
}

TEST_CASE("queue manager verdicts: temporary 451, permanent 554, codes checked") {
  Harness h;
  auto run = [&] { h.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\n"); };
  h.send("EHLO c.test\r\n");
  run();
  CHECK(h.answer(Outcome::kTemporary, "4.3.1", "disk full") == "451 4.3.1 disk full\r\n");
  run();
  CHECK(h.answer(Outcome::kPermanent, "5.6.0", "bad envelope") == "554 5.6.0 bad envelope\r\n");
  run();
  CHECK(starts(h.answer(Outcome::kTemporary, "2.0.0", "x\r\nEVIL"), "451 4.3.0 x??EVIL"));
  CHECK(h.submissions == 3);
  // A stale answer after the session moved on changes nothing.
  CHECK(h.answer(Outcome::kOk).empty());
}

TEST_CASE("message over message_size_limit: read to the end, 552 5.3.4, nothing queued") {
  Harness h;
  h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
  std::string line(900, 'x');
  std::string r;
  for (int i = 0; i < 20; ++i) r += h.send(line + "\r\n");
  CHECK(r.empty());
  CHECK(starts(h.send(".\r\n"), "552 5.3.4"));
  CHECK(h.submissions == 0);
  CHECK(starts(h.send("NOOP\r\n"), "250 2.0.0"));
}

TEST_CASE("RFC 5321 2.3.8: bare LF in DATA rejects the whole message, read to CRLF.CRLF") {
  Harness h;
  h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
  std::string r =
      h.send("x\n.\nMAIL FROM:<evil@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nevil\r\n.\r\n");
  CHECK(r == "554 5.6.0 Error: bare LF/CR not allowed, RFC 5321 2.3.8\r\n");
  CHECK(h.submissions == 0);
}

TEST_CASE("RFC 5321 4.5.3.1.6: a text line over 1000 octets rejects the message") {
  Harness h;
  h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
  CHECK(starts(h.send(std::string(999, 'x') + "\r\n.\r\n"), "552 5.6.0"));
  CHECK(h.submissions == 0);
}

TEST_CASE("RFC 5321 4.5.3.1.4: command lines up to 2048 octets; longer ones 500 5.5.2") {
  Harness h;
  std::string ok = "NOOP " + std::string(kMaxCommandLine - 7, 'a') + "\r\n";
  REQUIRE(ok.size() == kMaxCommandLine);
  CHECK(h.send(ok) == "250 2.0.0 Ok\r\n");
  std::string bad = "NOOP " + std::string(kMaxCommandLine - 6, 'a') + "\r\n";
  CHECK(h.send(bad) == "500 5.5.2 Error: line too long\r\n");
  // Very long, in pieces: one reply when its LF arrives, and the tail is not a command.
  CHECK(h.send("NOOP " + std::string(5000, 'a')).empty());
  CHECK(h.send(std::string(3000, 'b') + " QUIT\r\nNOOP\r\n") ==
        "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
  CHECK_FALSE(h.closed);
}

TEST_CASE("RFC 5321 2.3.8: a command line must end in CRLF") {
  Harness h;
  CHECK(h.send("NOOP\n") == "500 5.5.2 Error: bare LF not allowed (RFC 5321 2.3.8)\r\n");
  CHECK(starts(h.send("NO\rOP\r\n"), "500 5.5.2"));
  CHECK(starts(h.send(std::string("NO\0OP\r\n", 7)), "500 5.5.2"));
  CHECK(starts(h.send("\r\n"), "500 5.5.2"));
  CHECK(starts(h.send("FOO\r\n"), "500 5.5.2"));
}

TEST_CASE("VRFY discloses nothing, EXPN is refused, HELP answers") {
  Harness h;
  CHECK(h.send("VRFY alice\r\n") ==
        "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  CHECK(starts(h.send("VRFY\r\n"), "501 5.5.4"));
  CHECK(h.send("EXPN staff\r\n") == "502 5.5.1 Error: EXPN not supported\r\n");
  CHECK(starts(h.send("HELP\r\n"), "214 2.0.0"));
}

TEST_CASE("max recipients: 452 4.5.3 past the limit; duplicates count once") {
  Harness h;  // limit 3
  h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  std::string r = h.send(
      "RCPT TO:<alice@example.test>\r\nRCPT TO:<ALICE@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
      "RCPT TO:<info@example.test>\r\nRCPT TO:<postmaster@example.test>\r\n");
  CHECK(r ==
        "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
        "452 4.5.3 Error: too many recipients\r\n");
}

TEST_CASE("RFC 5321 4.5.3.2.7: timeout gives 421 4.4.2 and closes") {
  Harness h;
  CHECK(h.take(h.s.timeout()) == "421 4.4.2 mx.example.test Error: timeout exceeded\r\n");
  CHECK(h.closed);
  CHECK(h.send("NOOP\r\n").empty());
}

TEST_CASE("QUIT: 221 and close; later input is ignored") {
  Harness h;
  CHECK(h.send("QUIT\r\nNOOP\r\n") == "221 2.0.0 Bye\r\n");
  CHECK(h.closed);
}

TEST_CASE("too many errors: 421 4.7.0 and close") {
  Harness h;
  std::string all;
  for (int i = 0; i < 25 && !h.closed; ++i) all += h.send("BOGUS\r\n");
  CHECK(h.closed);
  CHECK(all.find("421 4.7.0 mx.example.test Error: too many errors\r\n") != std::string::npos);
}

TEST_CASE("the queue file cannot be created: 451 4.3.0 at DATA") {
  Harness h;
  h.backend.fail_create = true;
  h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\n");
  CHECK(starts(h.send("DATA\r\n"), "451 4.3.0"));
  CHECK_FALSE(h.s.in_data());
}

TEST_CASE("RFC 3463 3.4: no room for the queue file: 452 4.3.1 at DATA") {
  // Bug: a full spool gave 451 4.3.0 here (tests/integration/test_faults_diskfull.py).
  for (int err : {ENOSPC, EDQUOT}) {
    Harness h;
    h.backend.fail_create = true;
    h.backend.fail_create_errno = err;
    h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\n");
    CHECK(starts(h.send("DATA\r\n"), "452 4.3.1 "));
    CHECK_FALSE(h.s.in_data());
    CHECK(starts(h.send("RSET\r\n"), "250"));
  }
}

TEST_CASE("unreadable accounts: RCPT 451 4.3.0") {
  Harness h;
  h.backend.dir.broken = true;
  h.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  CHECK(starts(h.send("RCPT TO:<alice@example.test>\r\n"), "451 4.3.0"));
}

TEST_CASE("RFC 5322 3.3 date and the Received header layout") {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", "UTC", 1);
  tzset();
  CHECK(rfc5322_date(1700000000) == "Tue, 14 Nov 2023 22:13:20 +0000");
  ReceivedInfo ri;
  ri.helo = "c.test";
  ri.client_literal = "[192.0.2.7]";
  ri.hostname = "mx.example.test";
  ri.protocol = "ESMTPS";
  ri.queue_id = "0123456789ABCDEF";
  ri.tls = "TLSv1.3 with cipher X";
  ri.for_rcpt = "alice@example.test";
  ri.time = 1700000000;
  CHECK(received_header(ri) ==
        "Received: from c.test ([192.0.2.7])\n\tby mx.example.test (Mailbag) with ESMTPS id "
        "0123456789ABCDEF\n\t(using TLSv1.3 with cipher X)\n\tfor <alice@example.test>; Tue, 14 Nov "
        "2023 22:13:20 +0000\n");
  CHECK(header_safe_name("evil;(x)<y>\"\\", false) == "evil??x??y???");
  if (old)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

TEST_CASE("POP-before-SMTP: the relay database is asked once per session, only when it matters") {
  SessionConfig c = testing::test_config();
  c.pop_before_smtp = true;
  Harness h(c);
  h.backend.relay_db.insert("192.0.2.7");
  h.send("EHLO c.test\r\n");
  CHECK(h.backend.relay_db_lookups == 0);
  CHECK(starts(h.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@far.example>\r\n"), "250 2.1.0 Ok\r\n250 2.1.5"));
  h.send("RSET\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<y@far.example>\r\n");
  CHECK(h.backend.relay_db_lookups == 1);
  // Off: never asked, relaying refused.
  Harness off;
  off.backend.relay_db.insert("192.0.2.7");
  off.send("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  CHECK(starts(off.send("RCPT TO:<x@far.example>\r\n"), "554 5.7.1"));
  CHECK(off.backend.relay_db_lookups == 0);
}

TEST_CASE("RFC 8314 3.3: an implicit-TLS port greets after the handshake, offers AUTH, no STARTTLS") {
  SessionConfig c = testing::test_config();
  c.tls_available = true;
  c.port = Port::kSubmissions;
  testing::TestBackend b;
  Session s(c, testing::test_client(), b);
  s.set_implicit_tls("TLSv1.3 with cipher X (256/256 bits)");
  CHECK(s.start().bytes == "220 mx.example.test ESMTP Mailbag\r\n");
  CHECK(s.tls_active());
  std::string e = s.feed("EHLO c.test\r\n").bytes;
  CHECK(e.find("STARTTLS") == std::string::npos);
  CHECK(e.find("250 AUTH PLAIN LOGIN\r\n") != std::string::npos);
  CHECK(e.find("250-REQUIRETLS\r\n") != std::string::npos);  // RFC 8689 4.1: on TLS only
  CHECK(starts(s.feed("MAIL FROM:<alice@example.test>\r\n").bytes, "530 5.7.0"));
}

TEST_CASE(
    "AUTH: the password goes out in the request, the session waits, pipelined input after it waits too") {
  SessionConfig c = testing::test_config();
  c.tls_available = true;
  c.port = Port::kSubmissions;
  testing::TestBackend b;
  Session s(c, testing::test_client(), b);
  s.set_implicit_tls("TLS");
  s.start();
  s.feed("EHLO c.test\r\n");
  Output o = s.feed("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\nMAIL FROM:<alice@example.test>\r\n");
  REQUIRE(o.auth.has_value());
  CHECK(o.auth->login == "alice@example.test");
  CHECK(o.auth->password == "secret");
  CHECK(o.bytes.empty());
  CHECK_FALSE(s.wants_input());
  CHECK(s.feed("RCPT TO:<x@far.example>\r\n").bytes.empty());
  Output d = s.auth_done(AuthOutcome{AuthOutcome::Kind::kOk, "alice@example.test", ""});
  CHECK(d.bytes == "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  CHECK(s.facts().auth_user == "alice@example.test");
  // A stale answer changes nothing.
  CHECK(s.auth_done(AuthOutcome{AuthOutcome::Kind::kFailed, "", ""}).bytes.empty());
}

TEST_CASE("RFC 6531 3.7.3 / RFC 3848: UTF8SMTPSA after TLS and AUTH") {
  SessionConfig c = testing::test_config();
  c.tls_available = true;
  c.port = Port::kSubmissions;
  testing::TestBackend b;
  Session s(c, testing::test_client(), b);
  s.set_implicit_tls("TLS");
  s.start();
  s.feed("EHLO c.test\r\n");
  s.feed("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n");
  s.auth_done(AuthOutcome{AuthOutcome::Kind::kOk, "alice@example.test", ""});
  s.feed("MAIL FROM:<alice@example.test> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@far.example>\r\nDATA\r\n");
  Output o = s.feed("x\r\n.\r\n");
  REQUIRE(o.submit.has_value());
  std::string file = testing::read_all(o.submit->fd.get());
  CHECK(file.find("\nP ESMTPSA\n") != std::string::npos);
  CHECK(file.find("with UTF8SMTPSA id") != std::string::npos);
}

TEST_CASE("pipelined commands stop at the output cap per turn and resume on demand") {
  Harness h;
  h.send("EHLO c.test\r\n");
  std::string flood;
  while (flood.size() < 64 * 1024) flood += "EHLO x\r\n";
  std::size_t commands = flood.size() / 8;
  std::string first = h.send(flood);
  // One turn writes at most kMaxOutputPerTurn plus the reply that crossed it, however
  // many commands arrived with it (today: ~1.2 MB for 64 KiB of EHLO).
  CHECK(first.size() < kMaxOutputPerTurn + 1024);
  CHECK(h.s.has_pending_commands());
  std::string all = first;
  int turns = 1;
  while (h.s.has_pending_commands()) {
    std::string more = h.take(h.s.resume());
    CHECK(more.size() < kMaxOutputPerTurn + 1024);
    all += more;
    REQUIRE(++turns < 1000);
  }
  std::size_t answered = 0;  // the last line of each EHLO reply
  for (std::size_t pos = 0; (pos = all.find("\r\n250 ", pos)) != std::string::npos; pos += 2) ++answered;
  CHECK(answered == commands);
  CHECK(h.send("NOOP\r\n").rfind("250 ", 0) == 0);  // in step again
}
