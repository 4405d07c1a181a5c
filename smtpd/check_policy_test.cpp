// Unit tests for smtpd/check_policy.hpp: verdicts to replies, temperror handling, the
// junk mark.
#include "smtpd/check_policy.hpp"

#include <doctest/doctest.h>

using namespace smtpd;
using common::ipc::CheckDone;

namespace {
ChecksConfig all_on() {
  ChecksConfig c;
  c.dnsbl = c.spf = c.data = true;
  return c;
}
CheckDone with(std::string method, std::string result, std::string property = "mailfrom") {
  CheckDone v;
  v.results.push_back({method, result, "", {{"smtp", property, "x@example.test"}}});
  return v;
}
}  // namespace

TEST_CASE("MAIL: DNS lists name the list; temperror per checks_temperror") {
  ChecksConfig c = all_on();
  CheckDone v;
  CHECK_FALSE(mail_check_reply(v, c, "192.0.2.1"));
  v.dnsbl = 1;
  v.dnsbl_zone = "bl.example";
  auto r = mail_check_reply(v, c, "192.0.2.1");
  REQUIRE(r);
  CHECK(r->code == 554);
  CHECK(r->status == "5.7.1");
  CHECK(r->text == "Service unavailable; client [192.0.2.1] blocked using bl.example");
  v.dnsbl = 3;
  CHECK_FALSE(mail_check_reply(v, c, "192.0.2.1"));
  c.temperror_defer = true;
  CHECK(mail_check_reply(v, c, "192.0.2.1")->code == 451);
  v.dnsbl = 2;  // allowlisted
  CHECK_FALSE(mail_check_reply(v, c, "192.0.2.1"));
}

TEST_CASE("MAIL: SPF fail refused only when configured, on the MAIL FROM identity") {
  ChecksConfig c = all_on();
  CHECK_FALSE(mail_check_reply(with("spf", "fail"), c, "192.0.2.1"));
  c.spf_reject_fail = true;
  auto r = mail_check_reply(with("spf", "fail"), c, "192.0.2.1");
  REQUIRE(r);
  CHECK(r->code == 550);
  CHECK(r->status == "5.7.23");
  CHECK_FALSE(mail_check_reply(with("spf", "fail", "helo"), c, "192.0.2.1"));
  CHECK_FALSE(mail_check_reply(with("spf", "softfail"), c, "192.0.2.1"));
  CHECK_FALSE(mail_check_reply(with("spf", "temperror"), c, "192.0.2.1"));
  c.temperror_defer = true;
  r = mail_check_reply(with("spf", "temperror"), c, "192.0.2.1");
  REQUIRE(r);
  CHECK(r->status == "4.7.24");
  // The checks process did not answer.
  r = mail_check_reply(unanswered(common::ipc::CheckStage::kMail, c), c, "192.0.2.1");
  REQUIRE(r);
  CHECK(r->code == 451);
  c.temperror_defer = false;
  CHECK_FALSE(mail_check_reply(unanswered(common::ipc::CheckStage::kMail, c), c, "192.0.2.1"));
}

TEST_CASE("DATA: DMARC reject and quarantine as configured") {
  ChecksConfig c = all_on();
  CheckDone v;
  v.results.push_back({"dmarc", "fail", "p=reject dis=reject", {{"header", "from", "example.test"}}});
  v.dmarc_policy = "reject";
  auto r = data_check_reply(v, c);
  REQUIRE(r);
  CHECK(r->code == 550);
  CHECK(r->status == "5.7.1");
  CHECK(r->text == "Email rejected per DMARC policy for example.test");
  c.dmarc_reject = false;
  CHECK_FALSE(data_check_reply(v, c));
  CHECK_FALSE(junk(v, c));
  v.dmarc_policy = "quarantine";
  CHECK(junk(v, c));
  c.dmarc_quarantine = false;
  CHECK_FALSE(junk(v, c));
  v.results[0].result = "pass";
  c.dmarc_quarantine = true;
  CHECK_FALSE(junk(v, c));
  // temperrors
  CHECK_FALSE(data_check_reply(with("dkim", "temperror"), c));
  c.temperror_defer = true;
  CHECK(data_check_reply(with("dkim", "temperror"), c)->code == 451);
  CHECK(data_check_reply(with("dmarc", "temperror"), c)->code == 451);
  CHECK_FALSE(data_check_reply(with("dkim", "permerror"), c));
}

TEST_CASE("log lines") {
  common::checks::ResInfo r{"spf", "pass", "ok\r\n", {{"smtp", "mailfrom", "a@b"}}};
  CHECK(describe(r) ==
        "spf=pass smtp.mailfrom=a@b (ok?"
        "?)");
}
