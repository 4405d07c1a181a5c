// Tests of the pure SMTP client session (common/smtp/client.hpp): whole conversations
// driven by scripted server replies, without sockets.
#include "common/smtp/client.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace common::smtp;
using common::mail::Outcome;

namespace {

Reply reply(std::string_view text) {
  ReplyParser p;
  std::string t(text);
  p.feed(t);
  REQUIRE(p.state() == ReplyParser::State::kReply);
  return p.take();
}

const char* kEhloFull =
    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
    "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n";
const char* kEhloPlain = "250-mx.example.test\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";

SessionOptions opts(TlsPolicy tls = TlsPolicy::kMay) {
  SessionOptions o;
  o.helo_name = "client.example.org";
  o.tls = tls;
  return o;
}

Transaction tx(std::vector<std::string> rcpts) {
  Transaction t;
  t.sender = "sender@example.org";
  t.recipients = std::move(rcpts);
  t.size = 1234;
  t.body_8bit = true;
  return t;
}

// Greeting and EHLO with `ehlo`; returns the session when ready (no TLS offered).
ClientSession ready_session(const char* ehlo, TlsPolicy tls = TlsPolicy::kMay) {
  ClientSession s(opts(tls));
  auto o = s.on_reply(reply("220 mx.example.test ESMTP\r\n"));
  CHECK(o.write == "EHLO client.example.org\r\n");
  o = s.on_reply(reply(ehlo));
  REQUIRE(o.ready);
  return s;
}

}  // namespace

TEST_CASE("pipelined transaction: one group, per-recipient results (RFC 2920 3.1)") {
  ClientSession s(opts(TlsPolicy::kNone));
  s.on_reply(reply("220 hi\r\n"));
  auto o = s.on_reply(reply(kEhloFull));
  REQUIRE(o.ready);  // STARTTLS offered but policy none: not tried
  o = s.send(tx({"a@example.test", "b@example.test", "c@example.test"}));
  CHECK(o.write ==
        "MAIL FROM:<sender@example.org> SIZE=1234 BODY=8BITMIME\r\n"
        "RCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n"
        "DATA\r\n");
  CHECK(s.waiting() == Stage::kMail);
  CHECK(s.on_reply(reply("250 2.1.0 Ok\r\n")).write.empty());
  CHECK(s.waiting() == Stage::kRcpt);
  s.on_reply(reply("250 2.1.5 Ok\r\n"));
  s.on_reply(reply("550 5.1.1 <b@example.test>: unknown user\r\n"));
  s.on_reply(reply("250 2.1.5 Ok\r\n"));
  CHECK(s.waiting() == Stage::kData);
  o = s.on_reply(reply("354 go ahead\r\n"));
  CHECK(o.send_body);
  CHECK(s.waiting() == Stage::kDot);
  o = s.on_reply(reply("250 2.0.0 Ok: queued as ABC\r\n"));
  REQUIRE(o.results.size() == 3);
  CHECK(o.ready);
  CHECK(o.write.empty());  // a completed transaction needs no RSET
  CHECK(o.results[0].outcome == Outcome::kOk);
  CHECK(o.results[0].stage == Stage::kDot);
  CHECK(o.results[0].reply->summary() == "250 2.0.0 Ok: queued as ABC");
  CHECK(o.results[1].outcome == Outcome::kPermanent);
  CHECK(o.results[1].stage == Stage::kRcpt);
  CHECK(o.results[1].status == "5.1.1");
  CHECK(o.results[2].outcome == Outcome::kOk);
  // The connection can carry the next message.
  o = s.send(tx({"d@example.test"}));
  CHECK(o.write.find("MAIL FROM:") == 0);
}

TEST_CASE("unpipelined transaction: one command at a time, then DATA") {
  ClientSession s = ready_session(kEhloPlain);
  auto o = s.send(tx({"a@x.test", "b@x.test"}));
  CHECK(o.write == "MAIL FROM:<sender@example.org> SIZE=1234 BODY=8BITMIME\r\n");
  o = s.on_reply(reply("250 ok\r\n"));
  CHECK(o.write == "RCPT TO:<a@x.test>\r\n");
  o = s.on_reply(reply("451 4.3.0 try later\r\n"));
  CHECK(o.write == "RCPT TO:<b@x.test>\r\n");
  o = s.on_reply(reply("250 ok\r\n"));
  CHECK(o.write == "DATA\r\n");
  o = s.on_reply(reply("354 go\r\n"));
  CHECK(o.send_body);
  o = s.on_reply(reply("554 5.6.0 content rejected\r\n"));
  REQUIRE(o.results.size() == 2);
  CHECK(o.results[0].outcome == Outcome::kTemporary);
  CHECK(o.results[0].status == "4.3.0");
  CHECK(o.results[1].outcome == Outcome::kPermanent);
  CHECK(o.results[1].stage == Stage::kDot);
  CHECK(o.ready);
}

TEST_CASE("MAIL refused: every recipient gets its reply, then RSET") {
  ClientSession s = ready_session(kEhloPlain);
  s.send(tx({"a@x.test", "b@x.test"}));
  auto o = s.on_reply(reply("550 5.7.1 sender refused\r\n"));
  REQUIRE(o.results.size() == 2);
  CHECK(o.results[1].outcome == Outcome::kPermanent);
  CHECK(o.results[1].stage == Stage::kMail);
  CHECK(o.write == "RSET\r\n");
  CHECK_FALSE(o.ready);
  o = s.on_reply(reply("250 ok\r\n"));
  CHECK(o.ready);
}

TEST_CASE("pipelined MAIL refused: the RCPT and DATA replies are read, then RSET") {
  ClientSession s(opts(TlsPolicy::kNone));
  s.on_reply(reply("220 hi\r\n"));
  s.on_reply(reply(kEhloFull));
  s.send(tx({"a@x.test"}));
  auto o = s.on_reply(reply("451 4.3.0 not now\r\n"));
  CHECK(o.results.empty());
  s.on_reply(reply("503 5.5.1 need MAIL\r\n"));
  o = s.on_reply(reply("503 5.5.1 need RCPT\r\n"));
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].outcome == Outcome::kTemporary);
  CHECK(o.results[0].stage == Stage::kMail);
  CHECK(o.write == "RSET\r\n");
}

TEST_CASE("pipelined: DATA accepted although every RCPT failed sends an empty message") {
  ClientSession s(opts(TlsPolicy::kNone));
  s.on_reply(reply("220 hi\r\n"));
  s.on_reply(reply(kEhloFull));
  s.send(tx({"a@x.test"}));
  s.on_reply(reply("250 ok\r\n"));
  s.on_reply(reply("550 no\r\n"));
  auto o = s.on_reply(reply("354 go\r\n"));
  CHECK_FALSE(o.send_body);
  CHECK(o.write == ".\r\n");
  o = s.on_reply(reply("554 no valid recipients\r\n"));
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].outcome == Outcome::kPermanent);
  CHECK(o.results[0].stage == Stage::kRcpt);
  CHECK(o.ready);
}

TEST_CASE("unpipelined: no DATA when no recipient was accepted") {
  ClientSession s = ready_session(kEhloPlain);
  s.send(tx({"a@x.test"}));
  s.on_reply(reply("250 ok\r\n"));
  auto o = s.on_reply(reply("550 5.1.1 no\r\n"));
  REQUIRE(o.results.size() == 1);
  CHECK(o.write == "RSET\r\n");
}

TEST_CASE("EHLO refused with 5xx falls back to HELO; no extensions then") {
  ClientSession s(opts());
  s.on_reply(reply("220 old server\r\n"));
  auto o = s.on_reply(reply("502 command not implemented\r\n"));
  CHECK(o.write == "HELO client.example.org\r\n");
  o = s.on_reply(reply("250 hello\r\n"));
  CHECK(o.ready);
  o = s.send(tx({"a@x.test"}));
  CHECK(o.write == "MAIL FROM:<sender@example.org>\r\n");
}

TEST_CASE("greeting failures end the session with QUIT and a temporary report") {
  ClientSession s(opts());
  auto o = s.on_reply(reply("554 5.7.1 go away\r\n"));
  REQUIRE(o.error);
  CHECK(o.error->outcome == Outcome::kTemporary);
  CHECK(o.error->stage == Stage::kGreeting);
  CHECK(o.error->status == "4.7.1");
  CHECK(o.write == "QUIT\r\n");
  CHECK(o.close);

  ClientSession t(opts());
  o = t.on_reply(reply("421 4.3.2 busy\r\n"));
  REQUIRE(o.error);
  CHECK(o.write.empty());  // 421: the server is already closing
  CHECK(o.close);
}

TEST_CASE("opportunistic STARTTLS, EHLO again afterwards (RFC 3207 4.2)") {
  ClientSession s(opts(TlsPolicy::kMay));
  s.on_reply(reply("220 hi\r\n"));
  auto o = s.on_reply(reply(kEhloFull));
  CHECK(o.write == "STARTTLS\r\n");
  o = s.on_reply(reply("220 2.0.0 ready\r\n"));
  CHECK(o.start_tls);
  CHECK(s.waiting() == Stage::kTlsHandshake);
  o = s.on_tls_established();
  CHECK(o.write == "EHLO client.example.org\r\n");
  CHECK(s.tls_active());
  o = s.on_reply(reply(kEhloFull));
  CHECK(o.ready);  // no second STARTTLS
}

TEST_CASE("opportunistic STARTTLS refused: go on in clear") {
  ClientSession s(opts(TlsPolicy::kMay));
  s.on_reply(reply("220 hi\r\n"));
  s.on_reply(reply(kEhloFull));
  auto o = s.on_reply(reply("454 4.7.0 TLS not available\r\n"));
  CHECK(o.ready);
  CHECK_FALSE(s.tls_active());
}

TEST_CASE("required TLS: not offered or refused is a temporary failure") {
  ClientSession s = ClientSession(opts(TlsPolicy::kEncrypt));
  s.on_reply(reply("220 hi\r\n"));
  auto o = s.on_reply(reply(kEhloPlain));
  REQUIRE(o.error);
  CHECK(o.error->status == "4.7.4");
  CHECK(o.error->detail.find("not offered") != std::string::npos);

  ClientSession t(opts(TlsPolicy::kVerify));
  t.on_reply(reply("220 hi\r\n"));
  t.on_reply(reply(kEhloFull));
  o = t.on_reply(reply("454 4.7.0 no\r\n"));
  REQUIRE(o.error);
  CHECK(o.error->outcome == Outcome::kTemporary);

  ClientSession u(opts(TlsPolicy::kEncrypt));
  u.on_reply(reply("220 hi\r\n"));
  u.on_reply(reply(kEhloFull));
  u.on_reply(reply("220 go\r\n"));
  o = u.on_tls_failed("certificate verify failed");
  REQUIRE(o.error);
  CHECK(o.error->stage == Stage::kTlsHandshake);
  CHECK(o.close);
}

TEST_CASE("AUTH PLAIN after TLS (RFC 4954, RFC 4616)") {
  SessionOptions o = opts(TlsPolicy::kEncrypt);
  o.auth_user = "user";
  o.auth_password = "secret";
  ClientSession s(o);
  s.on_reply(reply("220 hi\r\n"));
  s.on_reply(reply(kEhloFull));
  s.on_reply(reply("220 go\r\n"));
  s.on_tls_established();
  auto out = s.on_reply(reply(kEhloFull));
  // base64("\0user\0secret")
  CHECK(out.write == "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
  out = s.on_reply(reply("235 2.7.0 ok\r\n"));
  CHECK(out.ready);
}

TEST_CASE("AUTH LOGIN when PLAIN is not offered; failure is reported") {
  SessionOptions o = opts(TlsPolicy::kEncrypt);
  o.auth_user = "user";
  o.auth_password = "secret";
  ClientSession s(o);
  s.on_reply(reply("220 hi\r\n"));
  s.on_reply(reply("250-x\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n"));
  s.on_reply(reply("220 go\r\n"));
  s.on_tls_established();
  auto out = s.on_reply(reply("250-x\r\n250 AUTH LOGIN\r\n"));
  CHECK(out.write == "AUTH LOGIN\r\n");
  out = s.on_reply(reply("334 VXNlcm5hbWU6\r\n"));
  CHECK(out.write == "dXNlcg==\r\n");
  out = s.on_reply(reply("334 UGFzc3dvcmQ6\r\n"));
  CHECK(out.write == "c2VjcmV0\r\n");
  out = s.on_reply(reply("535 5.7.8 bad credentials\r\n"));
  REQUIRE(out.error);
  CHECK(out.error->stage == Stage::kAuth);
  CHECK(out.error->reply->code == 535);
}

TEST_CASE("AUTH is never sent in clear, even if TLS was merely optional") {
  SessionOptions o = opts(TlsPolicy::kMay);
  o.auth_user = "user";
  o.auth_password = "secret";
  ClientSession s(o);
  s.on_reply(reply("220 hi\r\n"));
  auto out = s.on_reply(reply("250-x\r\n250 AUTH PLAIN\r\n"));
  REQUIRE(out.error);
  CHECK(out.write.find("AUTH") == std::string::npos);
}

TEST_CASE("SIZE limit and SMTPUTF8 decided before anything is sent") {
  ClientSession s = ready_session(kEhloPlain);
  Transaction t = tx({"a@x.test"});
  t.size = 2000000;
  auto o = s.send(t);
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].outcome == Outcome::kPermanent);
  CHECK(o.results[0].status == "5.3.4");
  CHECK(o.write.empty());
  CHECK(o.ready);

  Transaction u = tx({"j\u00f6rg@x.test"});
  u.smtputf8 = true;
  o = s.send(u);
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].status == "5.6.7");

  // SMTPUTF8 requested but the envelope is ASCII: sent without the parameter.
  Transaction v = tx({"a@x.test"});
  v.smtputf8 = true;
  o = s.send(v);
  CHECK(o.write == "MAIL FROM:<sender@example.org> SIZE=1234 BODY=8BITMIME\r\n");
}

TEST_CASE("RFC 6531 3.2: a UTF-8 domain goes as A-labels to a server without SMTPUTF8") {
  ClientSession s = ready_session(kEhloPlain);
  Transaction t = tx({"anna@b\u00fccher.test"});  // anna@bücher.test
  t.sender = "me@m\u00fcnchen.test";              // me@münchen.test
  t.smtputf8 = true;
  auto o = s.send(t);
  CHECK(o.results.empty());
  CHECK(o.write == "MAIL FROM:<me@xn--mnchen-3ya.test> SIZE=1234 BODY=8BITMIME\r\n");
  o = s.on_reply(reply("250 ok\r\n"));
  CHECK(o.write == "RCPT TO:<anna@xn--bcher-kva.test>\r\n");

  // One address with a UTF-8 local part: the transaction needs SMTPUTF8 (5.6.7).
  ClientSession s2 = ready_session(kEhloPlain);
  Transaction u = tx({"anna@b\u00fccher.test", "j\u00f6rg@b\u00fccher.test"});
  u.smtputf8 = true;
  o = s2.send(u);
  REQUIRE(o.results.size() == 2);
  CHECK(o.results[0].status == "5.6.7");
  CHECK(o.results[1].status == "5.6.7");
  CHECK(o.write.empty());

  // A server that offers SMTPUTF8 gets the UTF-8 form and the parameter.
  ClientSession s3 = ready_session("250-mx.example.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
  o = s3.send(t);
  CHECK(o.write == "MAIL FROM:<me@m\u00fcnchen.test> BODY=8BITMIME SMTPUTF8\r\n");
}

TEST_CASE("an address with a line break never reaches the wire") {
  ClientSession s = ready_session(kEhloPlain);
  auto o = s.send(tx({"a@x.test\r\nRCPT TO:<evil@x.test>"}));
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].outcome == Outcome::kPermanent);
  CHECK(o.write.empty());
}

TEST_CASE("lost connection and timeouts") {
  SUBCASE("after the dot: accepted recipients are deferred") {
    ClientSession s = ready_session(kEhloPlain);
    s.send(tx({"a@x.test", "b@x.test"}));
    s.on_reply(reply("250 ok\r\n"));
    s.on_reply(reply("550 no\r\n"));
    s.on_reply(reply("250 ok\r\n"));
    s.on_reply(reply("354 go\r\n"));
    auto o = s.on_timeout();
    REQUIRE(o.results.size() == 2);
    CHECK(o.results[0].outcome == Outcome::kPermanent);
    CHECK(o.results[1].outcome == Outcome::kTemporary);
    CHECK(o.results[1].status == "4.4.2");
    CHECK(o.results[1].detail.find("timed out after sending the message data") != std::string::npos);
    CHECK(o.close);
  }
  SUBCASE("during the greeting") {
    ClientSession s(opts());
    auto o = s.on_closed();
    REQUIRE(o.error);
    CHECK(o.error->stage == Stage::kGreeting);
    CHECK(o.error->detail == "lost connection while waiting for the initial greeting");
  }
  SUBCASE("idle: no report") {
    ClientSession s = ready_session(kEhloPlain);
    auto o = s.on_closed();
    CHECK_FALSE(o.error);
    CHECK(o.results.empty());
    CHECK(o.close);
  }
  SUBCASE("a malformed reply in the middle of RCPT") {
    ClientSession s = ready_session(kEhloPlain);
    s.send(tx({"a@x.test"}));
    s.on_reply(reply("250 ok\r\n"));
    auto o = s.on_protocol_error("reply line too long");
    REQUIRE(o.results.size() == 1);
    CHECK(o.results[0].stage == Stage::kRcpt);
    CHECK(o.results[0].status == "4.5.0");
  }
}

TEST_CASE("421 in the middle of a transaction closes the session") {
  ClientSession s = ready_session(kEhloPlain);
  s.send(tx({"a@x.test", "b@x.test"}));
  s.on_reply(reply("250 ok\r\n"));
  s.on_reply(reply("250 ok\r\n"));
  auto o = s.on_reply(reply("421 4.4.2 shutting down\r\n"));
  REQUIRE(o.results.size() == 2);
  CHECK(o.results[0].outcome == Outcome::kTemporary);
  CHECK(o.results[1].outcome == Outcome::kTemporary);
  CHECK(o.close);
  CHECK(o.write.empty());
}

TEST_CASE("an unexpected reply on an idle connection ends it") {
  ClientSession s = ready_session(kEhloPlain);
  auto o = s.on_reply(reply("421 4.4.2 idle timeout\r\n"));
  CHECK(o.close);
  CHECK(o.write.empty());
}

TEST_CASE("ETRN and QUIT (RFC 1985)") {
  ClientSession s = ready_session("250-x\r\n250 ETRN\r\n");
  auto o = s.etrn("example.test");
  CHECK(o.write == "ETRN example.test\r\n");
  CHECK(s.waiting() == Stage::kEtrn);
  o = s.on_reply(reply("250 Queuing started\r\n"));
  REQUIRE(o.etrn);
  CHECK(o.etrn->code == 250);
  CHECK(o.ready);
  o = s.quit();
  CHECK(o.write == "QUIT\r\n");
  o = s.on_reply(reply("221 bye\r\n"));
  CHECK(o.close);
}

TEST_CASE("timeouts scale from the RFC 5321 4.5.3.2 values") {
  CHECK(reply_timeout(Stage::kGreeting, 300) == 300);
  CHECK(reply_timeout(Stage::kMail, 300) == 300);
  CHECK(reply_timeout(Stage::kRcpt, 300) == 300);
  CHECK(reply_timeout(Stage::kData, 300) == 120);
  CHECK(reply_timeout(Stage::kDot, 300) == 600);
  CHECK(data_block_timeout(300) == 180);
  CHECK(reply_timeout(Stage::kData, 5) == 2);
  // Never zero, whatever the scale (a zero timeout would fire at once).
  CHECK(reply_timeout(Stage::kData, 1) == 1);
  CHECK(data_block_timeout(1) == 1);
}

TEST_CASE("REQUIRETLS (RFC 8689): only over TLS to a server that offers it, passed on in MAIL") {
  // In clear: refused before anything is sent.
  ClientSession plain = ready_session(kEhloPlain);
  Transaction t = tx({"a@x.test"});
  t.requiretls = true;
  auto o = plain.send(t);
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].outcome == Outcome::kPermanent);
  CHECK(o.results[0].status == "5.7.10");
  CHECK(o.write.empty());
  // Over TLS, to a server without REQUIRETLS, and then to one with it.
  for (bool offered : {false, true}) {
    ClientSession s(opts(TlsPolicy::kVerify));
    s.on_reply(reply("220 hi\r\n"));
    s.on_reply(reply(kEhloFull));
    s.on_reply(reply("220 2.0.0 ready\r\n"));
    s.on_tls_established();
    o = s.on_reply(reply(offered ? "250-mx.example.test\r\n250-REQUIRETLS\r\n250 8BITMIME\r\n" : kEhloPlain));
    REQUIRE(o.ready);
    o = s.send(t);
    if (!offered) {
      REQUIRE(o.results.size() == 1);
      CHECK(o.results[0].status == "5.7.10");
      CHECK(o.results[0].detail.find("does not offer REQUIRETLS") != std::string::npos);
    } else {
      CHECK(o.results.empty());
      CHECK(o.write == "MAIL FROM:<sender@example.org> BODY=8BITMIME REQUIRETLS\r\n");
    }
  }
  // RFC 8689 5: a bounce (null sender) of a REQUIRETLS message goes on over TLS to a
  // server without REQUIRETLS, without the parameter; never in clear.
  Transaction bounce = t;
  bounce.sender = "";
  ClientSession plain2 = ready_session(kEhloPlain);
  o = plain2.send(bounce);
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].status == "5.7.10");
  ClientSession s(opts(TlsPolicy::kVerify));
  s.on_reply(reply("220 hi\r\n"));
  s.on_reply(reply(kEhloFull));
  s.on_reply(reply("220 2.0.0 ready\r\n"));
  s.on_tls_established();
  REQUIRE(s.on_reply(reply(kEhloPlain)).ready);
  o = s.send(bounce);
  CHECK(o.results.empty());
  CHECK(o.write == "MAIL FROM:<> SIZE=1234 BODY=8BITMIME\r\n");
}

TEST_CASE("DSN requests passed on unchanged to a server that offers DSN (RFC 3461 5.2.1)") {
  Transaction t = tx({"a@x.test", "b@x.test", "c@x.test"});
  t.size = 0;
  t.body_8bit = false;
  t.dsn_ret = common::mail::DsnRet::kHdrs;
  t.dsn_envid = "QQ+314159 x";  // decoded; xtext on the wire (4.4)
  t.dsn = {{common::mail::kNotifySuccess | common::mail::kNotifyFailure, "rfc822;A+x@x.test"},
           {common::mail::kNotifyNever, ""},
           {}};
  ClientSession s = ready_session("250-mx.example.test\r\n250-PIPELINING\r\n250 DSN\r\n");
  CHECK(s.capabilities().dsn);
  auto o = s.send(t);
  CHECK(o.write ==
        "MAIL FROM:<sender@example.org> RET=HDRS ENVID=QQ+2B314159+20x\r\n"
        "RCPT TO:<a@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A+2Bx@x.test\r\n"
        "RCPT TO:<b@x.test> NOTIFY=NEVER\r\n"
        "RCPT TO:<c@x.test>\r\n"
        "DATA\r\n");
  s.on_reply(reply("250 ok\r\n"));
  s.on_reply(reply("250 ok\r\n"));
  s.on_reply(reply("550 5.1.1 no\r\n"));
  s.on_reply(reply("250 ok\r\n"));
  o = s.on_reply(reply("354 go\r\n"));
  CHECK(o.send_body);
  o = s.on_reply(reply("250 2.0.0 queued\r\n"));
  REQUIRE(o.results.size() == 3);
  // Accepted by a DSN server: it answers the requests from now on (c asked nothing,
  // and the server's default applies there too).
  CHECK(o.results[0].dsn_passed);
  CHECK_FALSE(o.results[1].dsn_passed);  // refused
  CHECK(o.results[2].dsn_passed);
}

TEST_CASE("no DSN parameters to a server without DSN; nothing passed (RFC 3461 5.2.2)") {
  Transaction t = tx({"a@x.test"});
  t.dsn_ret = common::mail::DsnRet::kFull;
  t.dsn_envid = "id";
  t.dsn = {{common::mail::kNotifySuccess, "rfc822;a@x.test"}};
  ClientSession s = ready_session(kEhloPlain);
  auto o = s.send(t);
  CHECK(o.write == "MAIL FROM:<sender@example.org> SIZE=1234 BODY=8BITMIME\r\n");
  o = s.on_reply(reply("250 ok\r\n"));
  CHECK(o.write == "RCPT TO:<a@x.test>\r\n");
  o = s.on_reply(reply("250 ok\r\n"));
  o = s.on_reply(reply("354 go\r\n"));
  o = s.on_reply(reply("250 ok\r\n"));
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].outcome == Outcome::kOk);
  CHECK_FALSE(o.results[0].dsn_passed);
}

TEST_CASE(
    "CHUNKING with PIPELINING: MAIL and RCPTs in one group, then pipelined BDAT chunks (RFC 3030 2, 4.2)") {
  const char* ehlo = "250-mx.example.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n";
  ClientSession s = ready_session(ehlo);
  auto o = s.send(tx({"a@x.test", "b@x.test"}));
  CHECK(o.write ==
        "MAIL FROM:<sender@example.org> BODY=8BITMIME\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n");
  s.on_reply(reply("250 ok\r\n"));
  s.on_reply(reply("550 5.1.1 no\r\n"));
  o = s.on_reply(reply("250 ok\r\n"));
  REQUIRE(o.send_body);
  CHECK(o.bdat);
  s.on_bdat_chunk(false);
  s.on_bdat_chunk(true);
  CHECK(s.waiting() == Stage::kBdat);
  o = s.on_reply(reply("250 2.0.0 1000 octets\r\n"));
  CHECK(o.results.empty());
  o = s.on_reply(reply("250 2.0.0 queued as X\r\n"));  // the reply to LAST decides
  REQUIRE(o.results.size() == 2);
  CHECK(o.results[0].outcome == Outcome::kPermanent);
  CHECK(o.results[1].outcome == Outcome::kOk);
  CHECK(o.results[1].reply->text().find("queued as X") != std::string::npos);
  CHECK(o.ready);
  CHECK(o.write.empty());

  // A refused chunk: no more chunks, the replies in the pipeline are read, then RSET.
  o = s.send(tx({"a@x.test"}));
  s.on_reply(reply("250 ok\r\n"));
  o = s.on_reply(reply("250 ok\r\n"));
  REQUIRE(o.bdat);
  s.on_bdat_chunk(false);
  s.on_bdat_chunk(false);
  o = s.on_reply(reply("552 5.3.4 too big\r\n"));
  CHECK(o.stop_body);
  CHECK(o.results.empty());
  o = s.on_reply(reply("503 5.5.1 discarded\r\n"));
  REQUIRE(o.results.size() == 1);
  CHECK(o.results[0].status == "5.3.4");
  CHECK(o.results[0].stage == Stage::kBdat);
  CHECK(o.write == "RSET\r\n");

  // Nobody accepted: no chunk at all.
  s.on_reply(reply("250 ok\r\n"));
  o = s.send(tx({"a@x.test"}));
  s.on_reply(reply("250 ok\r\n"));
  o = s.on_reply(reply("550 5.1.1 no\r\n"));
  CHECK_FALSE(o.send_body);
  REQUIRE(o.results.size() == 1);
  CHECK(o.write == "RSET\r\n");
}

TEST_CASE("CHUNKING without PIPELINING: DATA as before") {
  ClientSession s = ready_session("250-mx.example.test\r\n250 CHUNKING\r\n");
  s.send(tx({"a@x.test"}));
  s.on_reply(reply("250 ok\r\n"));
  auto o = s.on_reply(reply("250 ok\r\n"));
  CHECK(o.write == "DATA\r\n");
}
