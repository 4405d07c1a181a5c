// Command line parsing edges, with the RFC sections they come from.
#include "smtpd/commands.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace smtpd;

TEST_CASE("RFC 5321 2.4: verbs are case-insensitive; argument after spaces") {
  Command c = split_command("mAiL FROM:<a@b.test>");
  CHECK(c.verb == Verb::kMail);
  CHECK(c.arg == "FROM:<a@b.test>");
  CHECK(split_command("starttls").verb == Verb::kStartTls);
  CHECK(split_command("QUIT  ").arg.empty());
  CHECK(split_command("NOOP   hello  ").arg == "hello");
  CHECK(split_command("").verb == Verb::kUnknown);
  CHECK(split_command("MAILFROM:<a@b>").verb == Verb::kUnknown);
  CHECK(split_command("BDATX 10").verb == Verb::kUnknown);
}

TEST_CASE("RFC 5321 4.1.1.2: MAIL FROM with a path, null path allowed") {
  auto p = parse_mail("FROM:<Joe@Example.ORG>", true);
  REQUIRE(p.ok());
  CHECK(p.value->sender.local == "Joe");
  CHECK(p.value->sender.domain == "example.org");
  auto n = parse_mail("FROM:<>", true);
  REQUIRE(n.ok());
  CHECK(n.value->sender.null());
  CHECK(parse_mail("from:<a@b.test>", true).ok());
  CHECK(parse_mail("FROM: <a@b.test>", true).ok());  // lenient: space after the colon
}

TEST_CASE("MAIL: bad sender syntax is 501 5.1.7") {
  for (const char* bad : {"FROM:a@b.test", "FROM:<a@b.test", "FROM:<a b@c.test>", "FROM:<@>",
                          "FROM:<a@-b.test>", "FROM:<a@b.test>x", "FROM:<\"unterminated@b.test>"}) {
    CAPTURE(bad);
    auto p = parse_mail(bad, true);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error.code == 501);
    CHECK((p.error.status == "5.1.7" || p.error.status == "5.5.4"));
  }
  auto p = parse_mail("TO:<a@b.test>", true);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error.code == 501);
  CHECK(p.error.status == "5.5.4");
}

TEST_CASE("RFC 5321 4.5.3.1.3: a path longer than 256 octets is refused") {
  std::string local(64, 'a');
  std::string domain;
  while (domain.size() < 200) domain += "abcdefghij.";
  domain += "test";
  auto p = parse_mail("FROM:<" + local + "@" + domain + ">", true);
  CHECK_FALSE(p.ok());
}

TEST_CASE("RFC 5321 C: a source route is accepted and ignored") {
  auto p = parse_mail("FROM:<@relay.test,@other.test:user@b.test>", true);
  REQUIRE(p.ok());
  CHECK(p.value->sender.str() == "user@b.test");
}

TEST_CASE("RFC 1870: SIZE=n, saturating on overflow; bad values 501 5.5.4") {
  auto p = parse_mail("FROM:<a@b.test> SIZE=12345", true);
  REQUIRE(p.ok());
  CHECK(*p.value->size == 12345u);
  auto big = parse_mail("FROM:<a@b.test> SIZE=99999999999999999999", true);
  REQUIRE(big.ok());
  CHECK(*big.value->size == std::numeric_limits<std::uint64_t>::max());
  for (const char* bad : {"FROM:<a@b.test> SIZE", "FROM:<a@b.test> SIZE=", "FROM:<a@b.test> SIZE=12a",
                          "FROM:<a@b.test> SIZE=-1", "FROM:<a@b.test> SIZE=123456789012345678901"}) {
    CAPTURE(bad);
    auto q = parse_mail(bad, true);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error.code == 501);
  }
}

TEST_CASE("RFC 6152: BODY=7BIT|8BITMIME; other types are 555") {
  CHECK(parse_mail("FROM:<a@b.test> BODY=8BITMIME", true).value->body == Body::k8BitMime);
  CHECK(parse_mail("FROM:<a@b.test> body=7bit", true).value->body == Body::k7Bit);
  auto p = parse_mail("FROM:<a@b.test> BODY=BINARYMIME", true);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error.code == 555);
}

TEST_CASE("RFC 5321 4.1.1.11: unknown MAIL parameters are 555 5.5.4") {
  auto p = parse_mail("FROM:<a@b.test> XFOO=HDRS", true);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error.code == 555);
  CHECK(p.error.status == "5.5.4");
}

TEST_CASE("parameters are refused after HELO (no extensions in effect, RFC 5321 4.1.1.1)") {
  auto p = parse_mail("FROM:<a@b.test> SIZE=10", false);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error.code == 555);
  CHECK(parse_mail("FROM:<a@b.test>", false).ok());
}

TEST_CASE("RFC 5321 4.1.2: esmtp-keyword/value syntax; duplicates refused") {
  for (const char* bad :
       {"FROM:<a@b.test> =x", "FROM:<a@b.test> -X=1", "FROM:<a@b.test> SIZE=1=2",
        "FROM:<a@b.test> SIZE=1 SIZE=2", "FROM:<a@b.test> SMTPUTF8=yes", "FROM:<a@b.test> REQUIRETLS=yes"}) {
    CAPTURE(bad);
    auto q = parse_mail(bad, true);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error.code == 501);
  }
  auto many = parse_mail("FROM:<a@b.test>  SIZE=10   BODY=8BITMIME ", true);
  CHECK(many.ok());
  auto rt = parse_mail("FROM:<a@b.test> requiretls", true);  // RFC 8689 4.1
  REQUIRE(rt.ok());
  CHECK(rt.value->requiretls);
  CHECK_FALSE(many.value->requiretls);
}

TEST_CASE("RFC 6531 3.5: UTF-8 addresses need SMTPUTF8 (553 5.6.7)") {
  auto ok = parse_mail("FROM:<j\xc3\xb6rg@b\xc3\xa4r.test> SMTPUTF8", true);
  REQUIRE(ok.ok());
  CHECK(ok.value->smtputf8);
  CHECK(ok.value->sender.utf8);
  auto no = parse_mail("FROM:<j\xc3\xb6rg@b.test>", true);
  REQUIRE_FALSE(no.ok());
  CHECK(no.error.code == 553);
  CHECK(no.error.status == "5.6.7");
  // Malformed UTF-8 is a syntax error even with SMTPUTF8.
  auto bad = parse_mail("FROM:<j\xc3@b.test> SMTPUTF8", true);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error.code == 501);

  auto r = parse_rcpt("TO:<j\xc3\xb6rg@b.test>", false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error.code == 553);
  CHECK(parse_rcpt("TO:<j\xc3\xb6rg@b.test>", true).ok());
}

TEST_CASE("RFC 6530 10.1: a UTF-8 domain is looked up in its A-label form (RFC 5891)") {
  // bär.test is xn--br-via.test: the form mailctl stores domains in.
  auto m = parse_mail("FROM:<j\u00f6rg@b\u00e4r.test> SMTPUTF8", true);
  REQUIRE(m.ok());
  CHECK(m.value->sender.domain == "xn--br-via.test");
  CHECK(m.value->sender.local == "j\u00f6rg");
  CHECK(m.value->sender.utf8);  // the local part still needs SMTPUTF8
  // RFC 6531 3.7: the envelope goes on as the client spelt it.
  CHECK(m.value->envelope_sender() == "j\u00f6rg@b\u00e4r.test");
  // An ASCII local part too: not the mixed "local@xn--..." form (RFC 6531 3.2 allows
  // A-labels only towards a server without SMTPUTF8, which the remote client handles).
  auto a = parse_mail("FROM:<Anna@B\u00c4R.test> SMTPUTF8", true);
  REQUIRE(a.ok());
  CHECK(a.value->envelope_sender() == "Anna@b\u00c4r.test");
  CHECK(a.value->sender.key() == "anna@xn--br-via.test");
  // ASCII senders, A-labels included, are one form.
  auto x = parse_mail("FROM:<anna@xn--br-via.test>", true);
  REQUIRE(x.ok());
  CHECK(x.value->sender_as_sent.empty());
  CHECK(x.value->envelope_sender() == "anna@xn--br-via.test");
  CHECK(parse_mail("FROM:<>", true).value->envelope_sender().empty());
  auto r = parse_rcpt("TO:<Anna@B\u00c4R.test>", true);
  REQUIRE(r.ok());
  CHECK(r.value->rcpt.key() == "anna@xn--br-via.test");
  CHECK_FALSE(r.value->rcpt.utf8);
  // ASCII domains, A-labels included, are untouched.
  CHECK(parse_rcpt("TO:<anna@xn--br-via.test>", false).value->rcpt.domain == "xn--br-via.test");
  // A domain without an A-label form (U+2603 is DISALLOWED, RFC 5892): 501 5.1.3.
  auto bad = parse_rcpt("TO:<anna@\u2603.test>", true);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error.code == 501);
  CHECK(bad.error.status == "5.1.3");
  auto badm = parse_mail("FROM:<anna@\u2603.test> SMTPUTF8", true);
  REQUIRE_FALSE(badm.ok());
  CHECK(badm.error.status == "5.1.7");
}

TEST_CASE("RFC 5321 4.1.1.3: RCPT TO; bad syntax 501 5.1.3; null path refused") {
  auto p = parse_rcpt("TO:<Alice@Example.TEST>", false);
  REQUIRE(p.ok());
  CHECK(p.value->rcpt.key() == "alice@example.test");
  for (const char* bad : {"TO:<>", "TO:alice@example.test", "TO:<alice>", "TO:<a@b.test", "TO:<a@b.test>x"}) {
    CAPTURE(bad);
    auto q = parse_rcpt(bad, false);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error.code == 501);
    CHECK(q.error.status == "5.1.3");
  }
  auto q = parse_rcpt("FROM:<a@b.test>", false);
  REQUIRE_FALSE(q.ok());
  CHECK(q.error.status == "5.5.4");
}

TEST_CASE("RFC 5321 4.5.1: RCPT TO:<Postmaster> without a domain") {
  auto p = parse_rcpt("TO:<Postmaster>", false);
  REQUIRE(p.ok());
  CHECK(p.value->rcpt.local == "postmaster");
  CHECK(p.value->rcpt.domain.empty());
  CHECK(parse_rcpt("TO:<POSTMASTER>", false).ok());
  CHECK_FALSE(parse_rcpt("TO:<abuse>", false).ok());
}

TEST_CASE("RFC 3461 4.1-4.4: NOTIFY and ORCPT on RCPT, RET and ENVID on MAIL; others 555 5.5.4") {
  auto p = parse_rcpt("TO:<a@b.test> NOTIFY=success,DELAY ORCPT=rfc822;A+2Bx@B.test", false);
  REQUIRE(p.ok());
  CHECK(p.value->dsn.notify == (common::mail::kNotifySuccess | common::mail::kNotifyDelay));
  CHECK(p.value->dsn.orcpt == "rfc822;A+x@B.test");
  CHECK(parse_rcpt("TO:<a@b.test> NOTIFY=NEVER", false).value->dsn.notify == common::mail::kNotifyNever);
  for (const char* bad : {"TO:<a@b.test> NOTIFY=NEVER,DELAY", "TO:<a@b.test> NOTIFY",
                          "TO:<a@b.test> ORCPT=a@b", "TO:<a@b.test> NOTIFY=FAILURE NOTIFY=DELAY"}) {
    CAPTURE(bad);
    auto r = parse_rcpt(bad, false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error.code == 501);
  }
  auto x = parse_rcpt("TO:<a@b.test> XFOO=1", false);
  REQUIRE_FALSE(x.ok());
  CHECK(x.error.code == 555);
  CHECK(x.error.status == "5.5.4");
  auto m = parse_mail("FROM:<a@b.test> RET=HDRS ENVID=QQ+2B1", true);
  REQUIRE(m.ok());
  CHECK(m.value->ret == common::mail::DsnRet::kHdrs);
  CHECK(m.value->envid == "QQ+1");
  CHECK(parse_mail("FROM:<a@b.test> RET=BODY", true).error.code == 501);
  CHECK(parse_mail("FROM:<a@b.test> ENVID=" + std::string(101, 'x'), true).error.code == 501);
}

TEST_CASE("open relay tricks are plain syntax or plain foreign addresses") {
  // '%' and '!' are ordinary atext: the address stays what it says (local part with a
  // '%'), and the policy then judges its domain.
  auto pct = parse_rcpt("TO:<victim%other.test@example.test>", false);
  REQUIRE(pct.ok());
  CHECK(pct.value->rcpt.domain == "example.test");
  auto q = parse_rcpt("TO:<\"victim@other.test\"@example.test>", false);
  REQUIRE(q.ok());
  CHECK(q.value->rcpt.domain == "example.test");
  CHECK(q.value->rcpt.local == "victim@other.test");
}

TEST_CASE("RFC 5321 4.1.1.1: HELO/EHLO name") {
  CHECK(*parse_helo("client.example.org").value == "client.example.org");
  CHECK(*parse_helo("[192.0.2.1]").value == "[192.0.2.1]");
  CHECK(*parse_helo("host extra words").value == "host");
  CHECK(parse_helo("").error.code == 501);
  CHECK_FALSE(parse_helo(std::string(256, 'a')).ok());
  CHECK(parse_helo(std::string(255, 'a')).ok());
  CHECK_FALSE(parse_helo("bad\x01name").ok());
  CHECK_FALSE(parse_helo("bad\xc3").ok());
}

TEST_CASE("RFC 4954 4: AUTH mechanism [initial-response]") {
  CHECK(split_command("auth plain").verb == Verb::kAuth);
  auto a = parse_auth("plain AGFsaWNl");
  REQUIRE(a.ok());
  CHECK(a.value->mechanism == "PLAIN");
  CHECK(a.value->initial == std::optional<std::string>("AGFsaWNl"));
  auto b = parse_auth("LOGIN");
  REQUIRE(b.ok());
  CHECK_FALSE(b.value->initial.has_value());
  auto e = parse_auth("PLAIN =");
  REQUIRE(e.ok());
  CHECK(e.value->initial == std::optional<std::string>("="));
  CHECK(parse_auth("X-OAUTH_2").ok());
  for (const char* bad : {"", "PL/AIN", "PLAIN a b", "ABCDEFGHIJKLMNOPQRSTU"}) {  // 21 chars
    CAPTURE(bad);
    auto p = parse_auth(bad);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error.code == 501);
  }
}

TEST_CASE("RFC 1985 5: ETRN [@]domain and #queue") {
  CHECK(split_command("etrn x.test").verb == Verb::kEtrn);
  auto d = parse_etrn("Primary.TEST");
  REQUIRE(d.ok());
  CHECK(d.value->node == "primary.test");
  CHECK_FALSE(d.value->subdomains);
  CHECK_FALSE(d.value->queue_name);
  auto s = parse_etrn("@primary.test");
  REQUIRE(s.ok());
  CHECK(s.value->subdomains);
  CHECK(s.value->node == "primary.test");
  auto q = parse_etrn("#Dialup");
  REQUIRE(q.ok());
  CHECK(q.value->queue_name);
  CHECK(q.value->node == "Dialup");
  for (const char* bad :
       {"", "@", "#", "a b.test", "@@x.test", "x..test", "-x.test", "[192.0.2.1]", "x.test.", "#a\x01"}) {
    CAPTURE(bad);
    auto p = parse_etrn(bad);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error.code == 501);
  }
}

TEST_CASE("RFC 3030 2: BDAT chunk-size [LAST]") {
  CHECK(split_command("bdat 10 last").verb == Verb::kBdat);
  auto a = parse_bdat("1234");
  REQUIRE(a.ok());
  CHECK(a.value->size == 1234);
  CHECK_FALSE(a.value->last);
  auto b = parse_bdat("0 last");  // a zero-length LAST chunk ends the message
  REQUIRE(b.ok());
  CHECK(b.value->size == 0);
  CHECK(b.value->last);
  auto c = parse_bdat("18446744073709551615 LAST");  // the largest size that fits
  REQUIRE(c.ok());
  CHECK(c.value->size == 18446744073709551615ull);
  for (const char* bad : {"", "LAST", "-1", "+1", "1x", "1 LAST x", "1 FIRST", "0x10", "18446744073709551616",
                          "000000000000000000001", "1\tLASTX"}) {
    CAPTURE(bad);
    auto p = parse_bdat(bad);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error.code == 501);
  }
}
