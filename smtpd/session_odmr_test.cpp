// The Session on the ODMR port (session_odmr.cpp), RFC 2645: EHLO offers AUTH (under TLS)
// and ATRN, ATRN needs AUTH and grants, and a 250 turns the roles; no mail is taken there.
#include <doctest/doctest.h>

#include "smtpd/test_support.hpp"

namespace smtpd {
namespace {

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

SessionConfig odmr_config() {
  SessionConfig c = testing::test_config();
  c.tls_available = true;
  c.port = Port::kOdmr;
  return c;
}

// An ODMR session after STARTTLS (TLS up), EHLO and, with `login`, AUTH.
struct Odmr {
  explicit Odmr(const std::string& login = "alice@example.test")
      : s(odmr_config(), testing::test_client(), b) {
    b.dir.db.atrn_grant_set = {"alice@example.test site.test", "alice@example.test second.test",
                               "bob@example.test other.test"};
    greeting = s.start().bytes;
    s.feed("EHLO site.test\r\n");
    s.feed("STARTTLS\r\n");
    s.tls_established("TLSv1.3");
    ehlo = s.feed("EHLO site.test\r\n").bytes;
    if (login.empty()) return;
    Output o = s.feed("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n");
    REQUIRE(o.auth.has_value());
    s.auth_done(AuthOutcome{AuthOutcome::Kind::kOk, login, ""});
  }
  testing::TestBackend b;
  Session s;
  std::string greeting, ehlo;
};

TEST_CASE("RFC 2645 5.1.1: the ODMR port's EHLO offers STARTTLS, then AUTH and ATRN; it takes no mail") {
  testing::TestBackend b;
  Session s(odmr_config(), testing::test_client(), b);
  CHECK(starts(s.start().bytes, "220 mx.example.test ESMTP Mailbag on-demand mail relay ready"));
  std::string e = s.feed("EHLO site.test\r\n").bytes;
  CHECK(e.find("250-STARTTLS\r\n") != std::string::npos);
  CHECK(e.find("AUTH") == std::string::npos);  // RFC 4954 14: not in clear
  CHECK(e.find("250 ATRN\r\n") != std::string::npos);
  CHECK(e.find("PIPELINING") == std::string::npos);
  CHECK(e.find("SIZE") == std::string::npos);
  CHECK(starts(s.feed("MAIL FROM:<a@b.test>\r\n").bytes, "502 5.5.1"));
  CHECK(starts(s.feed("RCPT TO:<a@b.test>\r\n").bytes, "502 5.5.1"));
  CHECK(starts(s.feed("DATA\r\n").bytes, "502 5.5.1"));
  CHECK(starts(s.feed("ETRN site.test\r\n").bytes, "502 5.5.1"));
  CHECK(starts(s.feed("HELO site.test\r\n").bytes, "502 5.5.1"));
  Odmr o;
  CHECK(o.ehlo.find("250-AUTH PLAIN LOGIN\r\n") != std::string::npos);
  CHECK(o.ehlo.find("STARTTLS") == std::string::npos);
  CHECK(o.ehlo.find("250 ATRN\r\n") != std::string::npos);
}

TEST_CASE("RFC 2645 5.2.1: ATRN without AUTH is 530, in clear and under TLS; nothing is asked") {
  testing::TestBackend b;
  Session s(odmr_config(), testing::test_client(), b);
  s.start();
  s.feed("EHLO site.test\r\n");
  Output o = s.feed("ATRN site.test\r\n");
  CHECK(starts(o.bytes, "530 5.7.0 Authentication required: STARTTLS"));
  CHECK_FALSE(o.atrn.has_value());
  Odmr tls("");
  o = tls.s.feed("ATRN site.test\r\n");
  CHECK(starts(o.bytes, "530 5.7.0 Authentication required"));
  CHECK_FALSE(o.atrn.has_value());
}

TEST_CASE("RFC 2645 5.2.1: a domain not granted to the login is 450, and nothing is released") {
  Odmr o;
  Output r = o.s.feed("ATRN site.test,other.test\r\n");
  CHECK(starts(r.bytes, "450 4.7.1 ATRN request refused: other.test is not granted to alice@example.test"));
  CHECK_FALSE(r.atrn.has_value());
  r = o.s.feed("ATRN nowhere.test\r\n");
  CHECK(starts(r.bytes, "450 4.7.1"));
  CHECK_FALSE(r.atrn.has_value());
  // A login without grants, asking for its own domains (no argument).
  Odmr carol("carol@example.test");
  r = carol.s.feed("ATRN\r\n");
  CHECK(starts(r.bytes, "450 4.7.1 ATRN request refused: no domain is granted"));
  // The accounts database cannot be read: 451, nothing asked.
  o.b.dir.broken = true;
  r = o.s.feed("ATRN site.test\r\n");
  CHECK(starts(r.bytes, "451 4.3.0 Unable to process ATRN request now"));
  CHECK_FALSE(r.atrn.has_value());
}

TEST_CASE("RFC 2645 5.2.1: a malformed ATRN argument is 501") {
  Odmr o;
  for (const char* bad : {"ATRN site.test,\r\n", "ATRN ,site.test\r\n", "ATRN site..test\r\n",
                          "ATRN site.test second.test\r\n", "ATRN <site.test>\r\n", "ATRN -site.test\r\n"}) {
    Output r = o.s.feed(bad);
    CHECK_MESSAGE(starts(r.bytes, "501 "), bad);
    CHECK_FALSE(r.atrn.has_value());
  }
}

TEST_CASE("RFC 2645 5.2.1: an allowed ATRN waits for the queue manager: 453, 451, or 250 and the turn") {
  Odmr o;
  Output r = o.s.feed("ATRN Site.Test,second.test,site.test\r\n");
  REQUIRE(r.atrn.has_value());
  CHECK(r.atrn->domains == std::vector<std::string>{"site.test", "second.test"});
  CHECK(r.atrn->login == "alice@example.test");
  CHECK(r.bytes.empty());
  CHECK_FALSE(o.s.wants_input());
  CHECK(starts(o.s.atrn_done(0u).bytes, "453 4.3.0 You have no mail"));
  // No argument: every domain of the login.
  r = o.s.feed("ATRN\r\n");
  REQUIRE(r.atrn.has_value());
  CHECK(r.atrn->domains == std::vector<std::string>{"second.test", "site.test"});
  CHECK(starts(o.s.atrn_done(std::nullopt).bytes, "451 4.3.0 Unable to process ATRN request now"));
  // The turn: 250, then the session is over, and what the client sent after ATRN (its
  // greeting, RFC 2645 5.3) is handed on for the relay.
  r = o.s.feed("ATRN site.test\r\n");
  REQUIRE(r.atrn.has_value());
  CHECK(o.s.feed("220 site.test ESMTP\r\n").bytes.empty());
  Output t = o.s.atrn_done(3u);
  CHECK(t.bytes == "250 2.0.0 OK now reversing the connection\r\n");
  CHECK(t.turned);
  CHECK_FALSE(o.s.wants_input());
  CHECK(o.s.take_input() == "220 site.test ESMTP\r\n");
  CHECK(o.s.feed("QUIT\r\n").bytes.empty());  // not a command any more
}

TEST_CASE("ATRN's grants are looked up off the loop when the database is slow (PostgreSQL)") {
  Odmr o;
  o.b.defer_lookups = true;
  Output r = o.s.feed("ATRN site.test\r\nNOOP\r\n");
  REQUIRE(r.lookup.has_value());
  CHECK(r.lookup->kind == LookupRequest::Kind::kAtrn);
  CHECK(r.lookup->facts.auth_user == "alice@example.test");
  CHECK_FALSE(r.atrn.has_value());
  Output d = o.s.lookup_done(o.b.answer(*r.lookup));
  REQUIRE(d.atrn.has_value());
  CHECK(d.atrn->domains == std::vector<std::string>{"site.test"});
  // A second ATRN pipelined meanwhile waits; the database cannot be asked for it: 451.
  CHECK(o.s.feed("ATRN site.test\r\n").bytes.empty());
  Output t = o.s.atrn_done(0u);
  CHECK(starts(t.bytes, "453 4.3.0 You have no mail\r\n250 2.0.0"));  // then the NOOP's reply
  REQUIRE(t.lookup.has_value());
  d = o.s.lookup_done(lookup_unavailable(*t.lookup, "too many lookups waiting"));
  CHECK(starts(d.bytes, "451 4.3.0 Unable to process ATRN request now"));
  CHECK_FALSE(d.atrn.has_value());
}

TEST_CASE("ATRN elsewhere than the ODMR port is 502") {
  testing::SessionHarness h;
  h.send("EHLO c.test\r\n");
  CHECK(starts(h.send("ATRN site.test\r\n"), "502 5.5.1 Error: ATRN is served on the ODMR port only"));
}

}  // namespace
}  // namespace smtpd
