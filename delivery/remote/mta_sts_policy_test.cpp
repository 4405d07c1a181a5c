// Tests of the MTA-STS parsers (delivery/remote/mta_sts_policy.hpp) and the HTTP answer
// parser (http_response.hpp): the RFC 8461 3.1 TXT record, the 3.2 policy fields, the
// 4.1 wildcard rule, the cache file, and what 3.3 demands of the HTTP answer.
#include "delivery/remote/mta_sts_policy.hpp"

#include <doctest/doctest.h>

#include "delivery/remote/http_response.hpp"

using namespace delivery::remote;

TEST_CASE("parse_sts_txt: one v=STSv1 record with an id (RFC 8461 3.1)") {
  CHECK(*parse_sts_txt({"v=STSv1; id=20190429T010101;"}) == "20190429T010101");
  CHECK(*parse_sts_txt({"v=spf1 -all", "v=STSv1;id=abc"}) == "abc");
  CHECK(*parse_sts_txt({"v=STSv1; id=a1 ; ext-x=yes"}) == "a1");
  CHECK(*parse_sts_txt({"v=STSv1; ext=1; id=Z9"}) == "Z9");
  CHECK(*parse_sts_txt({"v=STSv1; id=" + std::string(32, 'a')}) == std::string(32, 'a'));
  // none, several, or broken
  CHECK_FALSE(parse_sts_txt({}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=spf1 -all"}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1; id=1", "v=STSv1; id=2"}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1;"}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1; id="}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1; id=" + std::string(33, 'a')}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1; id=a-b"}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1; id=1; id=2"}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv10; id=1"}).is_ok());
  CHECK_FALSE(parse_sts_txt({"v=STSv1; id"}).is_ok());
}

TEST_CASE("parse_sts_policy: the fields of RFC 8461 3.2") {
  auto p = parse_sts_policy(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\n"
      "max_age: 86400\r\n");
  REQUIRE(p.is_ok());
  CHECK(p->mode == StsMode::kEnforce);
  CHECK(p->max_age == 86400);
  REQUIRE(p->mx.size() == 2);
  CHECK(p->mx[1] == "*.example.net");
  // LF line ends, blanks, unknown keys, no final line end
  p = parse_sts_policy("version:STSv1\nmode:  testing  \nmx: a.example\nfoo: bar\nmax_age: 0");
  REQUIRE(p.is_ok());
  CHECK(p->mode == StsMode::kTesting);
  CHECK(p->max_age == 0);
  // mode none needs no mx
  p = parse_sts_policy("version: STSv1\nmode: none\nmax_age: 10\n");
  REQUIRE(p.is_ok());
  CHECK(p->mode == StsMode::kNone);
  // max_age above the RFC's maximum is held to it; more than 10 digits is wrong
  p = parse_sts_policy("version: STSv1\nmode: none\nmax_age: 9999999999\n");
  REQUIRE(p.is_ok());
  CHECK(p->max_age == kStsMaxAge);
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: none\nmax_age: 12345678901\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: none\nmax_age: -1\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: none\nmax_age:\n").is_ok());
  // the first of a repeated field counts
  p = parse_sts_policy(
      "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 5\nmax_age: 7\n");
  REQUIRE(p.is_ok());
  CHECK(p->mode == StsMode::kTesting);
  CHECK(p->max_age == 5);
}

TEST_CASE("parse_sts_policy: what makes a policy invalid") {
  CHECK_FALSE(parse_sts_policy("").is_ok());
  CHECK_FALSE(parse_sts_policy("mode: enforce\nmx: a.example\nmax_age: 1\n").is_ok());  // no version
  CHECK_FALSE(parse_sts_policy("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmx: a.example\nmax_age: 1\n").is_ok());  // no mode
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\n").is_ok());  // no max_age
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmax_age: 1\n").is_ok());     // no mx
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_policy("<html>\n<body>not found</body>\n").is_ok());
  CHECK_FALSE(parse_sts_policy("version: STSv1\nmode: none\nmax_age: 1\n\x01: x\n").is_ok());
  CHECK_FALSE(parse_sts_policy(std::string(kStsMaxPolicy + 1, '\n')).is_ok());
  std::string many = "version: STSv1\nmode: enforce\nmax_age: 1\n";
  for (int i = 0; i < 65; ++i) many += "mx: m" + std::to_string(i) + ".example\n";
  CHECK_FALSE(parse_sts_policy(many).is_ok());
}

TEST_CASE("sts_mx_matches: exact names and one-label wildcards (RFC 8461 4.1)") {
  CHECK(sts_mx_matches("mail.example.com", "mail.example.com"));
  CHECK(sts_mx_matches("mail.example.com", "MAIL.Example.COM."));
  CHECK_FALSE(sts_mx_matches("mail.example.com", "mail2.example.com"));
  CHECK(sts_mx_matches("*.example.com", "mx1.example.com"));
  CHECK_FALSE(sts_mx_matches("*.example.com", "example.com"));
  CHECK_FALSE(sts_mx_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(sts_mx_matches("*.example.com", "xexample.com"));
  CHECK_FALSE(sts_mx_matches("*.example.com", ".example.com"));
  StsPolicy p;
  p.mx = {"a.example", "*.b.example"};
  CHECK(sts_policy_allows(p, "x.b.example"));
  CHECK_FALSE(sts_policy_allows(p, "c.example"));
  CHECK(sts_mx_list(p) == "a.example, *.b.example");
}

TEST_CASE("the cache file: written and read back; anything else refused") {
  StsCacheEntry e;
  e.id = "abc1";
  e.fetched = 1700000000;
  e.text = "version: STSv1\nmode: enforce\nmx: mx.example\nmax_age: 600\n";
  auto back = parse_sts_cache(format_sts_cache(e));
  REQUIRE(back.is_ok());
  CHECK(back->id == "abc1");
  CHECK(back->fetched == 1700000000);
  CHECK(back->text == e.text);
  CHECK(back->policy.mode == StsMode::kEnforce);
  CHECK(back->expires() == 1700000600);
  CHECK_FALSE(parse_sts_cache("").is_ok());
  CHECK_FALSE(parse_sts_cache("MBSTS1\nid a/b\nfetched 1\nversion: STSv1\nmode: none\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_cache("MBSTS1\nid a\nfetched x\nversion: STSv1\nmode: none\nmax_age: 1\n").is_ok());
  CHECK_FALSE(parse_sts_cache("MBSTS1\nid a\nfetched 1\nversion: STSv1\n").is_ok());
}

TEST_CASE("HTTP answers: status, Content-Type, redirects (RFC 8461 3.3)") {
  auto r = parse_http_response(
      "HTTP/1.0 200 OK\r\nServer: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\n");
  REQUIRE(r.is_ok());
  CHECK(r->status == 200);
  CHECK(r->content_type == "text/plain");
  CHECK(r->body == "body\n");
  CHECK(sts_response_problem(*r).empty());
  r = parse_http_response("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\n\r\n");
  REQUIRE(r.is_ok());
  CHECK(sts_response_problem(*r).find("redirect to https://elsewhere.example/ (not followed") !=
        std::string::npos);
  r = parse_http_response("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n");
  REQUIRE(r.is_ok());
  CHECK(sts_response_problem(*r) == "HTTP status 404");
  r = parse_http_response("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nx");
  REQUIRE(r.is_ok());
  CHECK(sts_response_problem(*r) == "Content-Type is text/html, not text/plain");
  r = parse_http_response("HTTP/1.1 200 OK\n\nx");
  REQUIRE(r.is_ok());
  CHECK(sts_response_problem(*r) == "Content-Type is missing, not text/plain");
  r = parse_http_response("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef");
  REQUIRE(r.is_ok());
  CHECK(r->body == "abc");
  CHECK(parse_http_response("HTTP/1.0 200 OK\r\nContent-Length: 30\r\n\r\nabc").message() ==
        "answer cut short: Content-Length 30, 3 bytes received");
  CHECK_FALSE(parse_http_response("HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n").is_ok());
  CHECK_FALSE(parse_http_response("").is_ok());
  CHECK_FALSE(parse_http_response("HTTP/1.1 200 OK\r\n").is_ok());
  CHECK_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n\r\n").is_ok());
  CHECK_FALSE(parse_http_response("HTTP/1.1 2x0 OK\r\n\r\n").is_ok());
  CHECK_FALSE(
      parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
          .is_ok());
  CHECK_FALSE(
      parse_http_response("HTTP/1.1 200 OK\r\nX: " + std::string(kHttpMaxHeader, 'a') + "\r\n\r\n").is_ok());
  CHECK(sts_policy_request("mta-sts.example.com")
            .find("GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: mta-sts.example.com\r\n") == 0);
}
