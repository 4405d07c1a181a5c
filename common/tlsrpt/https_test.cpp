// Unit tests for the https: rua pieces (RFC 8460 3, 5.4).
#include "common/tlsrpt/https.hpp"

#include <doctest/doctest.h>

using common::tlsrpt::HttpsTarget;
using common::tlsrpt::parse_https_uri;
using common::tlsrpt::report_post_request;

TEST_CASE("https: rua URIs: the RFC 8460 3 example and the usual forms") {
  auto t = parse_https_uri("https://reporting.example.com/v1/tlsrpt");
  REQUIRE(t);
  CHECK(t->host == "reporting.example.com");
  CHECK(t->port == 443);
  CHECK(t->target == "/v1/tlsrpt");
  t = parse_https_uri("HTTPS://Reports.Example.NET.:8443?x=1#frag");
  REQUIRE(t);
  CHECK(t->host == "reports.example.net");
  CHECK(t->port == 8443);
  CHECK(t->target == "/?x=1");
  t = parse_https_uri("https://r.example");
  REQUIRE(t);
  CHECK(t->target == "/");
  t = parse_https_uri("https://r.example/a/b?c=d&e#f");
  REQUIRE(t);
  CHECK(t->target == "/a/b?c=d&e");
}

TEST_CASE("https: rua URIs that cannot be used") {
  for (const char* bad :
       {"http://r.example/", "https://", "https:///path", "https://user@r.example/", "https://[2001:db8::1]/",
        "https://192.0.2.1/", "https://r.example:/", "https://r.example:0/", "https://r.example:65536/",
        "https://r.example:123456/", "https://r.example:44x/", "https://r_example.com/",
        "https://-r.example/", "https://r..example/", "https://:443/"})
    CHECK_MESSAGE(!parse_https_uri(bad), bad);
}

TEST_CASE("the report POST (RFC 8460 5.4): media type, length, the body as is") {
  HttpsTarget t{"r.example", 443, "/v1/tlsrpt"};
  std::string body("\x1f\x8b\x08\0gz", 6);
  CHECK(report_post_request(t, body) ==
        "POST /v1/tlsrpt HTTP/1.0\r\nHost: r.example\r\nContent-Type: application/tlsrpt+gzip\r\n"
        "Content-Length: 6\r\nConnection: close\r\n\r\n" +
            body);
  t.port = 8443;
  CHECK(report_post_request(t, "").find("\r\nHost: r.example:8443\r\n") != std::string::npos);
}
