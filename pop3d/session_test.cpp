// Tests of the POP3 state machine without sockets: every command in every state, the
// response codes, STLS and plaintext rules, AUTH PLAIN, PIPELINING's busy(), and that
// only QUIT in TRANSACTION deletes (RFC 1939 6).
#include "pop3d/session.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include "common/auth/sasl.hpp"
#include "pop3d/test_support.hpp"

using namespace pop3d;
using namespace pop3d::testing;

namespace {

struct Fixture {
  TempDir t;
  std::string md;
  RecordingHost host;
  std::unique_ptr<Session> s;

  explicit Fixture(SessionOptions opt = plain_ok()) {
    md = make_maildir(t.path + "/md");
    put_file(md + "/new/1700000001.A.h,S=30,W=32", "Subject: one\n\nfirst\n.dotted\n");
    put_file(md + "/new/1700000002.B.h,S=20,W=22", "Subject: two\n\nsecond\n");
    s = std::make_unique<Session>(opt);
    host.session = s.get();
    host.apply(s->start());
  }
  static SessionOptions plain_ok() {
    SessionOptions o;
    o.hostname = "pop.example.test";
    o.plaintext_auth = true;
    o.tls_available = true;
    return o;
  }
  std::string cmd(std::string_view line) {
    host.apply(s->on_line(line));
    return host.take();
  }
  void login() {
    CHECK(cmd("USER bob@example.test") == "+OK Send your password\r\n");
    CHECK(cmd("PASS secret") == "");
    CHECK(s->busy());
    AuthResult r;
    r.kind = AuthResult::Kind::kOk;
    r.account = "bob@example.test";
    r.maildir = md;
    host.apply(s->auth_result(r));
    CHECK(host.take() == "+OK Logged in, 2 messages (54 octets)\r\n");
    CHECK(s->state() == Session::State::kTransaction);
  }
  std::size_t files(const char* sub) {
    std::size_t n = 0;
    for (const auto& name : {"1700000001.A.h,S=30,W=32", "1700000002.B.h,S=20,W=22"}) {
      std::string p = md + "/" + sub + "/" + name + (std::string(sub) == "cur" ? ":2," : "");
      if (::access(p.c_str(), F_OK) == 0) ++n;
    }
    return n;
  }
};

}  // namespace

TEST_CASE("greeting (RFC 1939 4)") {
  Fixture f;
  CHECK(f.host.take() == "+OK pop.example.test POP3 server ready\r\n");
}

TEST_CASE("CAPA before and after login (RFC 2449 5)") {
  Fixture f;
  f.host.take();
  CHECK(f.cmd("CAPA") ==
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
        "USER\r\nSASL PLAIN\r\nSTLS\r\nIMPLEMENTATION Mailbag\r\n.\r\n");
  f.login();
  CHECK(f.cmd("CAPA") ==
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
        "IMPLEMENTATION Mailbag\r\n.\r\n");
}

TEST_CASE("without TLS and without pop3_plaintext_auth: no USER, PASS or AUTH; STLS offered") {
  SessionOptions o;
  o.hostname = "h";
  o.tls_available = true;
  Fixture f(o);
  f.host.take();
  std::string capa = f.cmd("CAPA");
  CHECK(capa.find("USER") == std::string::npos);
  CHECK(capa.find("SASL") == std::string::npos);
  CHECK(capa.find("STLS\r\n") != std::string::npos);
  CHECK(f.cmd("USER bob@example.test").rfind("-ERR [AUTH] Plaintext authentication disallowed", 0) == 0);
  CHECK(f.cmd("PASS x").rfind("-ERR [AUTH] Plaintext", 0) == 0);
  CHECK(f.cmd("AUTH PLAIN AGJvYgB4").rfind("-ERR [AUTH] Plaintext", 0) == 0);
  CHECK(f.host.verified.empty());
  // RFC 2595 4: STLS, then the same commands work.
  CHECK(f.cmd("STLS") == "+OK Begin TLS negotiation\r\n");
  CHECK(f.host.tls_starts == 1);
  CHECK(f.s->busy());
  f.host.apply(f.s->tls_started());
  CHECK_FALSE(f.s->busy());
  CHECK(f.s->tls_active());
  capa = f.cmd("CAPA");
  CHECK(capa.find("USER\r\nSASL PLAIN\r\n") != std::string::npos);
  CHECK(capa.find("STLS") == std::string::npos);
  CHECK(f.cmd("STLS") == "-ERR TLS is already active\r\n");
  CHECK(f.cmd("USER bob@example.test") == "+OK Send your password\r\n");
}

TEST_CASE("STLS forgets a USER given before it; unavailable without a certificate") {
  Fixture f;
  f.host.take();
  f.cmd("USER bob@example.test");
  f.cmd("STLS");
  f.host.apply(f.s->tls_started());
  CHECK(f.cmd("PASS secret") == "-ERR USER first\r\n");
  SessionOptions o = Fixture::plain_ok();
  o.tls_available = false;
  Fixture g(o);
  g.host.take();
  CHECK(g.cmd("STLS") == "-ERR TLS is not available\r\n");
  CHECK(g.cmd("CAPA").find("STLS") == std::string::npos);
}

TEST_CASE("USER/PASS: the host verifies; failures carry [AUTH], [SYS/TEMP]") {
  Fixture f;
  f.host.take();
  CHECK(f.cmd("PASS secret") == "-ERR USER first\r\n");
  CHECK(f.cmd("USER") == "-ERR USER takes one argument: your address\r\n");
  f.cmd("USER bob@example.test");
  CHECK(f.cmd("PASS") == "-ERR PASS takes your password\r\n");
  f.cmd("USER bob@example.test");
  CHECK(f.cmd("PASS two words") == "");
  REQUIRE(f.host.verified.size() == 1);
  CHECK(f.host.verified[0] == std::pair<std::string, std::string>{"bob@example.test", "two words"});
  f.host.apply(f.s->auth_result(AuthResult{AuthResult::Kind::kFailed, "", ""}));
  CHECK(f.host.take() == "-ERR [AUTH] Authentication failed\r\n");
  CHECK(f.cmd("PASS again") == "-ERR USER first\r\n");  // USER is needed again
  f.cmd("USER bob@example.test");
  f.cmd("PASS x");
  f.host.apply(f.s->auth_result(AuthResult{AuthResult::Kind::kBlocked, "", ""}));
  CHECK(f.host.take().rfind("-ERR [SYS/TEMP] Too many failed logins", 0) == 0);
  f.cmd("USER bob@example.test");
  f.cmd("PASS x");
  f.host.apply(f.s->auth_result(AuthResult{AuthResult::Kind::kTempFail, "", ""}));
  CHECK(f.host.take().rfind("-ERR [SYS/TEMP] Temporary authentication failure", 0) == 0);
  CHECK(f.s->state() == Session::State::kAuthorization);
  CHECK(f.host.logins.empty());
}

TEST_CASE("commands of the wrong state, unknown commands, APOP") {
  Fixture f;
  f.host.take();
  CHECK(f.cmd("STAT") == "-ERR Log in first\r\n");
  CHECK(f.cmd("RETR 1") == "-ERR Log in first\r\n");
  CHECK(f.cmd("NOOP") == "-ERR Log in first\r\n");
  CHECK(f.cmd("APOP bob 0123") == "-ERR APOP is not supported\r\n");
  CHECK(f.cmd("HELO x") == "-ERR Unknown command\r\n");
  CHECK(f.cmd("LONGER") == "-ERR Unknown command\r\n");
  f.login();
  CHECK(f.cmd("USER x") == "-ERR Already logged in\r\n");
  CHECK(f.cmd("STLS") == "-ERR Already logged in\r\n");
  CHECK(f.cmd("AUTH PLAIN") == "-ERR Already logged in\r\n");
}

TEST_CASE("too many errors close the connection") {
  Fixture f;
  f.host.take();
  for (int i = 0; i < 9; ++i) CHECK(f.cmd("BAD") == "-ERR Unknown command\r\n");
  CHECK(f.cmd("BAD") == "-ERR Too many errors, closing connection\r\n");
  CHECK(f.host.closed);
  CHECK(f.s->busy());
}

TEST_CASE("AUTH PLAIN with an initial response, with a continuation, cancelled (RFC 5034)") {
  Fixture f;
  f.host.take();
  CHECK(f.cmd("AUTH") == "+OK\r\nPLAIN\r\n.\r\n");
  CHECK(f.cmd("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism\r\n");
  // "\0bob@example.test\0secret"
  const std::string b64 = common::auth::sasl::encode_base64(std::string("\0bob@example.test\0secret", 24));
  CHECK(f.cmd("AUTH plain " + b64) == "");
  REQUIRE(f.host.verified.size() == 1);
  CHECK(f.host.verified[0].first == "bob@example.test");
  CHECK(f.host.verified[0].second == "secret");
  f.host.apply(f.s->auth_result(AuthResult{AuthResult::Kind::kFailed, "", ""}));
  f.host.take();
  CHECK(f.cmd("AUTH PLAIN") == "+ \r\n");
  CHECK(f.cmd("*") == "-ERR Authentication cancelled\r\n");
  CHECK(f.cmd("AUTH PLAIN") == "+ \r\n");
  CHECK(f.cmd("!!!!") == "-ERR Invalid base64 in authentication data\r\n");
  CHECK(f.cmd("AUTH PLAIN") == "+ \r\n");
  CHECK(f.cmd(common::auth::sasl::encode_base64("no nuls")) == "-ERR [AUTH] malformed PLAIN message\r\n");
  CHECK(f.cmd("AUTH PLAIN =") == "-ERR [AUTH] malformed PLAIN message\r\n");
  // RFC 4616 2 and RFC 5034: an authorization identity other than the login is refused.
  CHECK(f.cmd("AUTH PLAIN " + common::auth::sasl::encode_base64(std::string("admin\0bob\0x", 11))) ==
        "-ERR [AUTH] proxy authorization not supported\r\n");
  CHECK(f.cmd("AUTH PLAIN") == "+ \r\n");
  CHECK(f.cmd(b64) == "");
  CHECK(f.host.verified.size() == 2);
}

TEST_CASE("TRANSACTION: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP (RFC 1939 5, 7)") {
  Fixture f;
  f.host.take();
  f.login();
  CHECK(f.files("cur") == 2);  // moved from new/ at login
  CHECK(f.cmd("STAT") == "+OK 2 54\r\n");
  CHECK(f.cmd("STAT 1") == "-ERR STAT takes no argument\r\n");
  CHECK(f.cmd("LIST") == "+OK 2 messages (54 octets)\r\n1 32\r\n2 22\r\n.\r\n");
  CHECK(f.cmd("LIST 2") == "+OK 2 22\r\n");
  CHECK(f.cmd("LIST 3") == "-ERR No such message\r\n");
  CHECK(f.cmd("LIST 1 2") == "-ERR Too many arguments\r\n");
  CHECK(f.cmd("UIDL") ==
        "+OK Unique-id listing follows\r\n1 1700000001.A.h,S=30,W=32\r\n2 1700000002.B.h,S=20,W=22\r\n.\r\n");
  CHECK(f.cmd("UIDL 1") == "+OK 1 1700000001.A.h,S=30,W=32\r\n");
  CHECK(f.cmd("RETR 1") == "+OK 32 octets\r\nSubject: one\r\n\r\nfirst\r\n..dotted\r\n.\r\n");
  CHECK_FALSE(f.s->busy());
  CHECK(f.cmd("TOP 1 0") == "+OK Top of message follows\r\nSubject: one\r\n\r\n.\r\n");
  CHECK(f.cmd("TOP 1 1") == "+OK Top of message follows\r\nSubject: one\r\n\r\nfirst\r\n.\r\n");
  CHECK(f.cmd("TOP 1") == "-ERR TOP takes a message number and a line count\r\n");
  CHECK(f.cmd("TOP 1 -1") == "-ERR Invalid line count\r\n");
  CHECK(f.cmd("RETR") == "-ERR RETR takes a message number\r\n");
  CHECK(f.cmd("RETR 0") == "-ERR No such message\r\n");
  CHECK(f.cmd("DELE 1") == "+OK Message 1 deleted\r\n");
  CHECK(f.cmd("DELE 1") == "-ERR Message 1 already deleted\r\n");
  CHECK(f.cmd("RETR 1") == "-ERR Message 1 already deleted\r\n");
  CHECK(f.cmd("LIST 1") == "-ERR Message 1 already deleted\r\n");
  CHECK(f.cmd("STAT") == "+OK 1 22\r\n");
  CHECK(f.cmd("LIST") == "+OK 1 messages (22 octets)\r\n2 22\r\n.\r\n");
  CHECK(f.cmd("UIDL") == "+OK Unique-id listing follows\r\n2 1700000002.B.h,S=20,W=22\r\n.\r\n");
  CHECK(f.cmd("RSET") == "+OK Maildrop has 2 messages (54 octets)\r\n");
  CHECK(f.cmd("NOOP") == "+OK\r\n");
}

TEST_CASE("QUIT in TRANSACTION deletes the marked messages (UPDATE, RFC 1939 6)") {
  Fixture f;
  f.host.take();
  f.login();
  f.cmd("RETR 2");
  f.cmd("DELE 2");
  CHECK(f.cmd("QUIT") == "+OK Logging out, 1 messages deleted\r\n");
  CHECK(f.host.closed);
  CHECK(f.host.stats.retrieved == 1);
  CHECK(f.host.stats.deleted == 1);
  CHECK(f.host.stats.bytes == 22);
  CHECK(f.files("cur") == 1);
  CHECK(f.host.logins == std::vector<std::string>{"bob@example.test"});
}

TEST_CASE("opening the maildrop and UPDATE run outside the session; +OK after the deletions") {
  Fixture f;
  f.host.take();
  f.host.deferred = true;  // as the server's worker threads do
  f.cmd("USER bob@example.test");
  f.cmd("PASS secret");
  f.host.apply(f.s->auth_result(AuthResult{AuthResult::Kind::kOk, "bob@example.test", f.md}));
  CHECK(f.s->busy());  // pipelined commands wait for the maildrop
  CHECK(f.host.take() == "");
  CHECK(f.s->state() == Session::State::kAuthorization);
  f.host.run_deferred();
  CHECK(f.host.take() == "+OK Logged in, 2 messages (54 octets)\r\n");
  CHECK(f.host.logins == std::vector<std::string>{"bob@example.test"});
  f.cmd("DELE 1");
  CHECK(f.cmd("QUIT") == "");  // RFC 1939 6: the +OK says the messages are gone
  CHECK(f.s->busy());
  CHECK(f.s->updating());
  CHECK(f.files("cur") == 2);
  CHECK_FALSE(f.host.closed);
  f.host.run_deferred();
  CHECK(f.files("cur") == 1);
  CHECK(f.host.take() == "+OK Logging out, 1 messages deleted\r\n");
  CHECK(f.host.closed);
  CHECK(f.host.stats.deleted == 1);
}

TEST_CASE("a session that ends without QUIT deletes nothing") {
  Fixture f;
  f.host.take();
  f.login();
  f.cmd("DELE 1");
  f.cmd("DELE 2");
  f.s.reset();  // the connection dropped
  CHECK(f.files("cur") == 2);
}

TEST_CASE("QUIT in AUTHORIZATION: no UPDATE state") {
  Fixture f;
  f.host.take();
  CHECK(f.cmd("QUIT") == "+OK Bye\r\n");
  CHECK(f.host.closed);
  CHECK(f.files("new") == 2);  // never opened
}

TEST_CASE("a second session for the same maildrop gets [IN-USE] (RFC 2449 8.1.1)") {
  Fixture f;
  f.host.take();
  f.login();
  RecordingHost h2;
  Session s2(Fixture::plain_ok());
  h2.session = &s2;
  h2.apply(s2.on_line("USER bob@example.test"));
  h2.apply(s2.on_line("PASS secret"));
  h2.apply(s2.auth_result(AuthResult{AuthResult::Kind::kOk, "bob@example.test", f.md}));
  CHECK(h2.out.find("-ERR [IN-USE] ") != std::string::npos);
  CHECK(s2.state() == Session::State::kAuthorization);
  CHECK(f.cmd("QUIT").rfind("+OK", 0) == 0);
  h2.out.clear();
  h2.apply(s2.on_line("USER bob@example.test"));
  h2.apply(s2.on_line("PASS secret"));
  h2.apply(s2.auth_result(AuthResult{AuthResult::Kind::kOk, "bob@example.test", f.md}));
  CHECK(h2.out.find("+OK Logged in") != std::string::npos);
}

TEST_CASE("a missing Maildir after a good password: [SYS/TEMP]") {
  Fixture f;
  f.host.take();
  f.cmd("USER bob@example.test");
  f.cmd("PASS secret");
  f.host.apply(f.s->auth_result(AuthResult{AuthResult::Kind::kOk, "bob@example.test", f.t.path + "/none"}));
  CHECK(f.host.take() == "-ERR [SYS/TEMP] Cannot open your mailbox, try again later\r\n");
  CHECK(f.s->state() == Session::State::kAuthorization);
}

TEST_CASE("an over-long line is an error, not a command") {
  Fixture f;
  f.host.take();
  f.host.apply(f.s->on_line_too_long());
  CHECK(f.host.take() == "-ERR Line too long\r\n");
}

TEST_CASE("the session returns what to write and what to do next (Output), like smtpd's") {
  Session s(Fixture::plain_ok());
  Output o = s.start();
  CHECK(o.bytes == "+OK pop.example.test POP3 server ready\r\n");
  CHECK_FALSE(o.verify);
  CHECK_FALSE(o.close);
  CHECK(s.on_line("USER bob@example.test").bytes == "+OK Send your password\r\n");
  o = s.on_line("PASS secret");
  CHECK(o.bytes.empty());
  REQUIRE(o.verify);
  CHECK(o.verify->user == "bob@example.test");
  CHECK(o.verify->password == "secret");
  CHECK(s.busy());
  o = s.auth_result(AuthResult{AuthResult::Kind::kOk, "bob@example.test", "/nonexistent"});
  REQUIRE(o.open_maildrop);
  CHECK(*o.open_maildrop == "/nonexistent");
  o = s.maildrop_opened(common::Status::error("gone"), Maildrop::OpenError::kFailed);
  CHECK(o.bytes.rfind("-ERR [SYS/TEMP]", 0) == 0);
  o = s.on_line("QUIT");
  CHECK(o.bytes == "+OK Bye\r\n");
  REQUIRE(o.close);
  CHECK_FALSE(o.update);  // no UPDATE state outside TRANSACTION
}

TEST_CASE("resume: the mailbox process's session starts in TRANSACTION with the +OK of the login") {
  TempDir t;
  std::string md = make_maildir(t.path + "/md");
  put_file(md + "/new/1700000001.A.h,S=30,W=32", "Subject: one\n\nfirst\n.dotted\n");
  Maildrop::OpenError why;
  auto drop = Maildrop::open(md, &why);
  REQUIRE(drop.is_ok());
  SessionOptions opt;
  opt.hostname = "pop.example.test";
  opt.tls_active = true;
  Session s(opt);
  RecordingHost host;
  host.session = &s;
  host.apply(s.resume("bob@example.test", std::move(*drop)));
  CHECK(host.take() == "+OK Logged in, 1 messages (32 octets)\r\n");
  CHECK(s.state() == Session::State::kTransaction);
  CHECK(host.logins == std::vector<std::string>{"bob@example.test"});
  host.apply(s.on_line("USER x"));
  CHECK(host.take() == "-ERR Already logged in\r\n");
  host.apply(s.on_line("STLS"));
  CHECK(host.take() == "-ERR Already logged in\r\n");
  host.apply(s.on_line("RETR 1"));
  CHECK(host.take().rfind("+OK 32 octets\r\n", 0) == 0);
  host.apply(s.on_line("QUIT"));
  CHECK(host.take() == "+OK Logging out, 0 messages deleted\r\n");
  CHECK(host.closed);
}
