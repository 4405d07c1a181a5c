// Unit tests for common/checks/authres.hpp: the header we write and the removal of
// incoming ones that claim our authserv-id (RFC 8601 5).
#include "common/checks/authres.hpp"

#include <doctest/doctest.h>

using namespace common::checks;

namespace {
std::string strip(std::string_view msg, std::size_t chunk, int* removed = nullptr) {
  AuthResStripper s("mx.example.test");
  std::string out;
  for (std::size_t i = 0; i < msg.size(); i += chunk) s.feed(msg.substr(i, chunk), &out);
  s.finish(&out);
  if (removed) *removed = s.removed();
  return out;
}
}  // namespace

TEST_CASE("format: one resinfo per line, comments and quoting") {
  CHECK(format_authres("mx.example.test", {}) == "Authentication-Results: mx.example.test; none\n");
  std::vector<ResInfo> r = {
      {"spf", "pass", "", {{"smtp", "mailfrom", "bob@example.org"}}},
      {"dkim", "fail", "body hash (bh) mismatch", {{"header", "d", "example.org"}, {"header", "s", "sel 1"}}},
      {"dmarc", "fail", "p=reject dis=reject", {{"header", "from", "example.org"}}},
  };
  CHECK(format_authres("mx.example.test", r) ==
        "Authentication-Results: mx.example.test;\n"
        "\tspf=pass smtp.mailfrom=bob@example.org;\n"
        "\tdkim=fail (body hash \\(bh\\) mismatch) header.d=example.org header.s=\"sel 1\";\n"
        "\tdmarc=fail (p=reject dis=reject) header.from=example.org\n");
  // Nothing from a value can end the header or add a field.
  std::string h = format_authres("id", {{"spf", "pass", "a\r\nX-Evil: 1", {{"smtp", "helo", "x\ny\"z"}}}});
  CHECK(h.find("\r") == std::string::npos);
  CHECK(h == "Authentication-Results: id;\n\tspf=pass (a??X-Evil: 1) smtp.helo=\"x?y\\\"z\"\n");
}

TEST_CASE("claims_authserv_id: token, quoted, comments, case") {
  CHECK(claims_authserv_id(" mx.example.test; spf=pass", "mx.example.test"));
  CHECK(claims_authserv_id(" MX.Example.Test; none", "mx.example.test"));
  CHECK(claims_authserv_id(" (comment (nested)) mx.example.test 1; none", "mx.example.test"));
  CHECK(claims_authserv_id("\n\t\"mx.example.test\"; none", "mx.example.test"));
  CHECK_FALSE(claims_authserv_id(" mx.example.test.evil; none", "mx.example.test"));
  CHECK_FALSE(claims_authserv_id(" other.example; spf=pass", "mx.example.test"));
  CHECK_FALSE(claims_authserv_id(" \"mx.example.test", "mx.example.test"));
  CHECK_FALSE(claims_authserv_id("", "mx.example.test"));
  CHECK_FALSE(claims_authserv_id(" (unterminated mx.example.test", "mx.example.test"));
}

TEST_CASE("stripper: removes ours with continuation lines, keeps others and the body") {
  std::string msg =
      "Received: from a\n\tby b\n"
      "Authentication-Results: mx.example.test;\n\tspf=pass smtp.mailfrom=x@y\n"
      "authentication-results : other.example; dkim=pass\n"
      "Subject: hi\n"
      "AUTHENTICATION-RESULTS:\n mx.example.test; dkim=pass\n"
      "\n"
      "Authentication-Results: mx.example.test; in the body\n";
  std::string want =
      "Received: from a\n\tby b\n"
      "authentication-results : other.example; dkim=pass\n"
      "Subject: hi\n"
      "\n"
      "Authentication-Results: mx.example.test; in the body\n";
  for (std::size_t chunk : {1, 2, 3, 7, 64, 100000}) {
    int removed = 0;
    CHECK(strip(msg, chunk, &removed) == want);
    CHECK(removed == 2);
  }
}

TEST_CASE("stripper: a field at the very end, a message without a body, CRLF") {
  int removed = 0;
  CHECK(strip("Subject: x\nAuthentication-Results: mx.example.test; none\n", 5, &removed) == "Subject: x\n");
  CHECK(removed == 1);
  CHECK(strip("Subject: x\r\nAuthentication-Results: other; none\r\n\r\nbody", 4) ==
        "Subject: x\r\nAuthentication-Results: other; none\r\n\r\nbody");
}

TEST_CASE("stripper: an over-long Authentication-Results field is dropped, other long lines kept") {
  std::string pad(AuthResStripper::kMaxField + 10, 'a');
  int removed = 0;
  std::string msg = "Authentication-Results: x" + pad + "\n\tmore\nSubject: s\n\nb\n";
  CHECK(strip(msg, 4096, &removed) == "Subject: s\n\nb\n");
  CHECK(removed == 1);
  std::string keep = "X-Long: " + pad + "\nSubject: s\n\nb\n";
  CHECK(strip(keep, 4096, &removed) == keep);
  CHECK(removed == 0);
  // The tail of a long line is never taken for a new field.
  std::string sneaky = "X-Long: " + pad + "Authentication-Results: mx.example.test; x\n\nb\n";
  CHECK(strip(sneaky, 1000) == sneaky);
}
