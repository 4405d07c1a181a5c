// Unit tests for the pure DMARC pieces: the Public Suffix List (psl.hpp), alignment and
// policy choice (dmarc_policy.hpp), and the From domain (from_domain.hpp).
#include "smtpd/checks/dmarc_policy.hpp"

#include <doctest/doctest.h>

#include "smtpd/checks/from_domain.hpp"
#include "smtpd/checks/psl.hpp"

using namespace checks;

namespace {
PublicSuffixList test_list() {
  PublicSuffixList l;
  l.load("// comment\ncom\nuk\nco.uk\n*.ck\n!www.ck\n\n");
  return l;
}
}  // namespace

TEST_CASE("organizational domains") {
  auto l = test_list();
  CHECK(l.size() == 5);
  CHECK(l.org_domain("a.b.Example.COM") == "example.com");
  CHECK(l.org_domain("example.com.") == "example.com");
  CHECK(l.org_domain("com") == "com");
  CHECK(l.org_domain("x.example.co.uk") == "example.co.uk");
  CHECK(l.org_domain("x.y.foo.ck") == "y.foo.ck");  // *.ck: foo.ck is a suffix
  CHECK(l.org_domain("a.www.ck") == "www.ck");      // !www.ck
  // Not in the list: the default rule "*" makes the last label a suffix, so the test
  // TLD is a public suffix and example.test an organization.
  CHECK(l.org_domain("mail.sub.example.test") == "example.test");
  CHECK(l.org_domain("test") == "test");
  PublicSuffixList empty;
  CHECK(empty.org_domain("a.b.example.test") == "example.test");
}

TEST_CASE("alignment: relaxed compares organizations, strict the names") {
  auto l = test_list();
  CHECK(aligned("mail.example.test", "example.test", false, l));
  CHECK_FALSE(aligned("mail.example.test", "example.test", true, l));
  CHECK(aligned("Example.Test", "example.test.", true, l));
  CHECK_FALSE(aligned("example.test", "other.test", false, l));
  // Two organizations under one public suffix never align (the 1.4.2 bug's case).
  CHECK_FALSE(aligned("a.test", "b.test", false, l));
  CHECK_FALSE(aligned("", "example.test", false, l));
}

TEST_CASE("policy choice: pass, p, sp, pct") {
  auto l = test_list();
  DmarcFacts f;
  f.from_domain = "example.test";
  f.record.p = DmarcPolicy::kReject;
  f.spf_result = "pass";
  f.spf_domain = "bounce.example.test";

  auto o = evaluate(f, l);
  CHECK(o.pass);
  CHECK(o.spf_aligned);
  CHECK(o.applied == DmarcPolicy::kNone);

  f.record.aspf_strict = true;  // bounce.example.test is not example.test
  o = evaluate(f, l);
  CHECK_FALSE(o.pass);
  CHECK(o.applied == DmarcPolicy::kReject);
  CHECK(o.comment == "p=reject dis=reject");

  f.dkim_pass_domains = {"other.test", "sig.example.test"};
  o = evaluate(f, l);
  CHECK(o.pass);
  CHECK(o.dkim_aligned);
  f.record.adkim_strict = true;
  CHECK_FALSE(evaluate(f, l).pass);
  f.dkim_pass_domains = {"EXAMPLE.test"};
  CHECK(evaluate(f, l).pass);

  // SPF fail never aligns.
  f.dkim_pass_domains.clear();
  f.record.aspf_strict = false;
  f.spf_result = "fail";
  CHECK_FALSE(evaluate(f, l).pass);

  // sp= applies when the record came from the organizational domain.
  f.from_domain = "sub.example.test";
  f.record_at_org = true;
  f.record.has_sp = true;
  f.record.sp = DmarcPolicy::kQuarantine;
  o = evaluate(f, l);
  CHECK(o.requested == DmarcPolicy::kQuarantine);
  CHECK(o.applied == DmarcPolicy::kQuarantine);
  f.record_at_org = false;
  CHECK(evaluate(f, l).requested == DmarcPolicy::kReject);

  // pct: outside the sample, one step down.
  f.record.pct = 30;
  f.sample = 29;
  CHECK(evaluate(f, l).applied == DmarcPolicy::kReject);
  f.sample = 30;
  o = evaluate(f, l);
  CHECK(o.applied == DmarcPolicy::kQuarantine);
  CHECK(o.comment == "p=reject dis=quarantine");
  f.record.p = DmarcPolicy::kQuarantine;
  CHECK(evaluate(f, l).applied == DmarcPolicy::kNone);
}

TEST_CASE("From domain: one field, one address") {
  using K = FromDomain::Kind;
  auto d = from_domain("Subject: x\nFrom: Bob <bob@Example.TEST>\nTo: y\n\nFrom: body@x.test\n");
  CHECK(d.kind == K::kOk);
  CHECK(d.domain == "example.test");
  d = from_domain("from :\r\n \"a@b, c\" (comment@evil.test)\r\n <x@mail.example.test>\r\n\r\n");
  CHECK(d.kind == K::kOk);
  CHECK(d.domain == "mail.example.test");
  CHECK(from_domain("From: plain@example.test\n").domain == "example.test");
  CHECK(from_domain("Subject: none\n").kind == K::kNone);
  CHECK(from_domain("From: a@x.test\nFrom: b@y.test\n").kind == K::kMultiple);
  CHECK(from_domain("From: a@x.test, b@y.test\n").kind == K::kMultiple);
  CHECK(from_domain("From: Group: a@x.test;\n").kind == K::kBad);  // no groups in From (RFC 5322 3.6.2)
  CHECK(from_domain("From: nobody\n").kind == K::kBad);
  CHECK(from_domain("From: <a@bad domain>\n").kind == K::kBad);
  CHECK(from_domain("From: <a@x.test\n").kind == K::kBad);
  CHECK(from_domain("From:\n").kind == K::kBad);
}

TEST_CASE("header section") {
  CHECK(header_section("A: b\nC: d\n\nbody\n", 1000) == "A: b\nC: d\n");
  CHECK(header_section("A: b\r\n\r\nbody", 1000) == "A: b\r\n");
  CHECK(header_section("\nbody", 1000).empty());
  CHECK(header_section("A: b\nC: d\n", 6) == "A: b\nC");
}
