// DSN request parameters (RFC 3461 4, 4.1-4.4): xtext both ways, NOTIFY, ORCPT, RET,
// ENVID, and their edges.
#include "common/mail/dsn.hpp"

#include <doctest/doctest.h>

using namespace common::mail;

TEST_CASE("RFC 3461 4: xtext decodes +XX (upper-case hex) and refuses the rest") {
  CHECK(xtext_decode("a+2Bb+3Dc") == "a+b=c");
  CHECK(xtext_decode("") == "");
  for (const char* bad : {"+", "+2", "+2b", "+G0", "a=b", "a b", "+0A", "+7F", "\x80"}) {
    CAPTURE(bad);
    CHECK_FALSE(xtext_decode(bad).has_value());
  }
  CHECK(xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d");
  CHECK(xtext_decode(xtext_encode("x+y= z;@\"q\"")) == "x+y= z;@\"q\"");
}

TEST_CASE("RFC 3461 4.1: NOTIFY is NEVER alone or a list of SUCCESS, FAILURE, DELAY") {
  CHECK(parse_notify("NEVER") == kNotifyNever);
  CHECK(parse_notify("success,Failure") == (kNotifySuccess | kNotifyFailure));
  CHECK(parse_notify("DELAY,SUCCESS,FAILURE") == (kNotifySuccess | kNotifyFailure | kNotifyDelay));
  for (const char* bad :
       {"", ",", "NEVER,SUCCESS", "SUCCESS,SUCCESS", "SUCCESS,", "ALWAYS", "SUCCESS ,DELAY"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_notify(bad).has_value());
  }
  CHECK(notify_text(kNotifyDelay | kNotifySuccess) == "SUCCESS,DELAY");
  CHECK(notify_text(kNotifyNever) == "NEVER");
  CHECK(notify_text(0) == "");
}

TEST_CASE("RFC 3461 4.2: ORCPT is addr-type ; xtext, at most 500 characters") {
  CHECK(parse_orcpt("rfc822;Anna+2Bx@example.org") == "rfc822;Anna+x@example.org");
  CHECK(parse_orcpt("RFC822;a@b") == "RFC822;a@b");
  for (const char* bad : {"", "rfc822", ";a@b", "rfc822;", "rfc 822;a@b", "rfc822;a+2", "rfc822;a=b"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_orcpt(bad).has_value());
  }
  CHECK(parse_orcpt("rfc822;" + std::string(493, 'a')).has_value());  // 500 in all
  CHECK_FALSE(parse_orcpt("rfc822;" + std::string(494, 'a')).has_value());
}

TEST_CASE("RFC 3461 4.3 and 4.4: RET is FULL or HDRS; ENVID is xtext of at most 100") {
  CHECK(parse_ret("full") == DsnRet::kFull);
  CHECK(parse_ret("HDRS") == DsnRet::kHdrs);
  CHECK_FALSE(parse_ret("BODY").has_value());
  CHECK(std::string(ret_text(DsnRet::kHdrs)) == "HDRS");
  CHECK(parse_envid("QQ314159+2B1") == "QQ314159+1");
  CHECK(parse_envid(std::string(100, 'x')).has_value());
  CHECK_FALSE(parse_envid(std::string(101, 'x')).has_value());
  CHECK_FALSE(parse_envid("").has_value());
  CHECK_FALSE(parse_envid("a=b").has_value());
}
