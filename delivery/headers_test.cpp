// Tests for the header block parser (headers.hpp): unfolding (RFC 5322 2.2.3), case of
// names, the end of the block, truncation at the read limit, address lists (RFC 5322
// 3.4) and message identifiers (3.6.4).
#include "delivery/headers.hpp"

#include <doctest/doctest.h>

#include "delivery/test_support.hpp"

using namespace delivery;

TEST_CASE("fields: names lower-cased, values unfolded and trimmed, body not read") {
  auto h = parse_headers(
      "Received: from a\n\tby b;\n Mon, 1 Jan 2024\nDelivered-To: x@y\nSUBJECT :  Hello  \n"
      "delivered-to: Z@Y\n\nBody: not a header\n",
      true);
  REQUIRE(h.fields.size() == 4);
  CHECK(h.fields[0].name == "received");
  CHECK(h.fields[0].value == "from a\tby b; Mon, 1 Jan 2024");
  CHECK(h.first("subject") == "Hello");
  CHECK(h.count("delivered-to") == 2);
  CHECK(h.all("delivered-to")[1] == "Z@Y");
  CHECK_FALSE(h.has("body"));
  CHECK_FALSE(h.truncated);
}

TEST_CASE("CRLF line ends, a message without body, a message without final LF") {
  auto h = parse_headers("A: 1\r\nB: 2\r\n", true);
  CHECK(h.fields.size() == 2);
  CHECK(h.first("b") == "2");
  auto g = parse_headers("A: 1\nB: 2", true);
  CHECK(g.first("b") == "2");
  CHECK_FALSE(g.truncated);
}

TEST_CASE("the block ends at a line that is no field; bad names end it too") {
  CHECK(parse_headers("A: 1\nnot a field\nB: 2\n", true).fields.size() == 1);
  CHECK(parse_headers("A: 1\nB\x01: 2\nC: 3\n", true).fields.size() == 1);
  CHECK(parse_headers(": empty name\n", true).fields.empty());
  CHECK(parse_headers(" continuation first\nA: 1\n", true).fields.size() == 1);
}

TEST_CASE("truncation: a block that does not end within the bytes read") {
  auto h = parse_headers("A: 1\nB: 2\nC: partial", false);
  CHECK(h.truncated);
  CHECK(h.first("b") == "2");
  auto g = parse_headers("A: 1\n\nbody", false);
  CHECK_FALSE(g.truncated);
}

TEST_CASE("read_headers reads the message part of a queue file") {
  testing::TempDir dir;
  auto q = testing::make_queued(dir.path, "s@example.net", {"r@example.org"},
                                "Subject: hi\nList-Id: <l.example>\n\nbody\n");
  auto m = check_message(q.fd.get(), q.deliver);
  REQUIRE(m.is_ok());
  auto h = read_headers(*m);
  REQUIRE(h.is_ok());
  CHECK(h->first("subject") == "hi");
  CHECK(h->has("list-id"));
}

TEST_CASE("read_headers of a huge header block is cut at kMaxHeaderBlock") {
  testing::TempDir dir;
  std::string body;
  for (int i = 0; body.size() < kMaxHeaderBlock + 100; ++i)
    body += "X-Pad-" + std::to_string(i) + ": padding padding\n";
  body += "\nbody\n";
  auto q = testing::make_queued(dir.path, "s@example.net", {"r@example.org"}, body);
  auto m = check_message(q.fd.get(), q.deliver);
  REQUIRE(m.is_ok());
  auto h = read_headers(*m);
  REQUIRE(h.is_ok());
  CHECK(h->truncated);
  CHECK(h->fields.size() > 1000);
}

TEST_CASE("address lists") {
  using V = std::vector<std::string>;
  CHECK(header_addresses("alice@example.org") == V{"alice@example.org"});
  CHECK(header_addresses("Alice <alice@example.org>, bob@example.org (Bob)") ==
        V{"alice@example.org", "bob@example.org"});
  CHECK(header_addresses("\"Smith, John\" <js@example.org>") == V{"js@example.org"});
  CHECK(header_addresses("team: a@x.example, b@x.example;, c@x.example") ==
        V{"a@x.example", "b@x.example", "c@x.example"});
  CHECK(header_addresses("undisclosed-recipients:;").empty());
  CHECK(header_addresses("<@relay.example:d@x.example>") == V{"d@x.example"});
  CHECK(header_addresses("(a (nested) comment) e@x.example") == V{"e@x.example"});
  CHECK(header_addresses("\"quoted@at\"@x.example") == V{"\"quoted@at\"@x.example"});
  CHECK(header_addresses("no address here, nor here").empty());
}

TEST_CASE("message identifiers") {
  CHECK(first_msg_id(" <a@b>  ") == "<a@b>");
  CHECK(first_msg_id("no id") == "");
  CHECK(msg_ids("<1@x> <2@x>\t<3@x>") == std::vector<std::string>{"<1@x>", "<2@x>", "<3@x>"});
  CHECK(msg_ids("<broken <4@x>") == std::vector<std::string>{"<4@x>"});
  CHECK(msg_ids("<a\rb@x> <c@x>") == std::vector<std::string>{"<c@x>"});  // no controls in an id
}
