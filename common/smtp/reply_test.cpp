// Tests of the client-side reply parser, the EHLO capability parser and the DATA
// encoder (common/smtp).
#include "common/smtp/reply.hpp"

#include <doctest/doctest.h>

#include <string>

#include "common/smtp/data_encoder.hpp"
#include "common/smtp/ehlo.hpp"

using namespace common::smtp;

namespace {

// Feeds `text` whole and returns the replies it holds; *error set on a parse error.
std::vector<Reply> parse_all(std::string_view text, std::string* error = nullptr, std::size_t chunk = 0) {
  ReplyParser p;
  std::vector<Reply> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::string_view piece = chunk ? rest.substr(0, chunk) : rest;
    std::size_t used = p.feed(piece);
    rest.remove_prefix(used);
    if (p.state() == ReplyParser::State::kReply) out.push_back(p.take());
    if (p.state() == ReplyParser::State::kError) {
      if (error) *error = p.error();
      return out;
    }
    if (used == 0) break;
  }
  return out;
}

}  // namespace

TEST_CASE("single-line and multi-line replies (RFC 5321 4.2)") {
  auto r = parse_all("250 2.1.0 Ok\r\n");
  REQUIRE(r.size() == 1);
  CHECK(r[0].code == 250);
  CHECK(r[0].enhanced == "2.1.0");
  CHECK(r[0].lines == std::vector<std::string>{"2.1.0 Ok"});
  CHECK(r[0].summary() == "250 2.1.0 Ok");

  r = parse_all("250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 go\r\n");
  REQUIRE(r.size() == 2);
  CHECK(r[0].lines.size() == 3);
  CHECK(r[0].enhanced.empty());
  CHECK(r[1].code == 354);

  // A bare code without text (RFC 5321 4.2: textstring is optional) and a bare LF.
  r = parse_all("220\n250 \r\n");
  REQUIRE(r.size() == 2);
  CHECK(r[0].code == 220);
  CHECK(r[0].lines == std::vector<std::string>{""});
  CHECK(r[1].code == 250);
}

TEST_CASE("replies split at every byte boundary parse the same") {
  std::string text = "550-5.1.1 <a@b>: no such\r\n550 5.1.1 user here\r\n221 2.0.0 Bye\r\n";
  for (std::size_t chunk = 1; chunk < text.size(); ++chunk) {
    auto r = parse_all(text, nullptr, chunk);
    REQUIRE(r.size() == 2);
    CHECK(r[0].code == 550);
    CHECK(r[0].enhanced == "5.1.1");
    // Continuation lines' repeated enhanced codes are dropped in the summary (RFC 2034).
    CHECK(r[0].summary() == "550 5.1.1 <a@b>: no such user here");
    CHECK(r[1].summary() == "221 2.0.0 Bye");
  }
}

TEST_CASE("malformed replies are errors") {
  std::string err;
  SUBCASE("code changes inside a multi-line reply (RFC 5321 4.2.1)") {
    parse_all("250-a\r\n251 b\r\n", &err);
    CHECK(err.find("changes") != std::string::npos);
  }
  SUBCASE("not three digits") {
    parse_all("25 x\r\n", &err);
    CHECK(!err.empty());
  }
  SUBCASE("first digit out of range") {
    parse_all("199 x\r\n", &err);
    CHECK(!err.empty());
    err.clear();
    parse_all("600 x\r\n", &err);
    CHECK(!err.empty());
    err.clear();
    parse_all("260 x\r\n", &err);  // second digit 6
    CHECK(!err.empty());
  }
  SUBCASE("garbage after the code") {
    parse_all("250xyz\r\n", &err);
    CHECK(!err.empty());
  }
  SUBCASE("NUL or bare CR") {
    parse_all(std::string("250 a\0b\r\n", 9), &err);
    CHECK(!err.empty());
    err.clear();
    parse_all("250 a\rb\r\n", &err);
    CHECK(!err.empty());
  }
  SUBCASE("line too long, whole or in pieces") {
    std::string line = "250 " + std::string(kMaxReplyLine, 'x') + "\r\n";
    parse_all(line, &err);
    CHECK(err.find("longer") != std::string::npos);
    err.clear();
    parse_all(line, &err, 7);
    CHECK(err.find("longer") != std::string::npos);
    err.clear();
    // Without any line end the parser gives up as soon as the cap is passed.
    ReplyParser p;
    std::string endless(kMaxReplyLine + 10, 'x');
    p.feed(endless);
    CHECK(p.state() == ReplyParser::State::kError);
  }
  SUBCASE("too many lines") {
    std::string many;
    for (std::size_t i = 0; i < kMaxReplyLines + 1; ++i) many += "250-x\r\n";
    many += "250 end\r\n";
    parse_all(many, &err);
    CHECK(err.find("too long") != std::string::npos);
  }
}

TEST_CASE("a line at the limit is fine") {
  std::string line = "250 " + std::string(kMaxReplyLine - 4, 'x') + "\r\n";
  auto r = parse_all(line);
  REQUIRE(r.size() == 1);
  CHECK(r[0].lines[0].size() == kMaxReplyLine - 4);
}

TEST_CASE("feed stops after one reply and leaves the rest") {
  ReplyParser p;
  std::string text = "220 hi\r\n250 ok\r\n";
  std::size_t used = p.feed(text);
  CHECK(used == 8);
  REQUIRE(p.state() == ReplyParser::State::kReply);
  CHECK(p.take().code == 220);
  used += p.feed(std::string_view(text).substr(used));
  CHECK(used == text.size());
  CHECK(p.take().code == 250);
}

TEST_CASE("enhanced status codes (RFC 3463 2, RFC 2034 4)") {
  CHECK(is_enhanced_status("5.1.1"));
  CHECK(is_enhanced_status("4.7.10"));
  CHECK(is_enhanced_status("2.123.999"));
  CHECK_FALSE(is_enhanced_status("3.1.1"));
  CHECK_FALSE(is_enhanced_status("5.1"));
  CHECK_FALSE(is_enhanced_status("5.1.1."));
  CHECK_FALSE(is_enhanced_status("5.01.1"));
  CHECK_FALSE(is_enhanced_status("5.1.1000"));
  CHECK(enhanced_status("5.1.1 unknown", 550) == "5.1.1");
  CHECK(enhanced_status("4.1.1 class mismatch", 550).empty());
  CHECK(enhanced_status("unknown user", 550).empty());
  CHECK(enhanced_status("5.1.1", 550) == "5.1.1");
}

TEST_CASE("summary escapes control characters and non-ASCII and is bounded") {
  Reply r;
  r.code = 550;
  r.lines = {"bad \x1b[31m text \xc3\xa9"};
  CHECK(r.summary() == "550 bad \\x1b[31m text \\xc3\\xa9");
  r.lines = {std::string(2000, 'a')};
  CHECK(r.summary(100).size() == 100);
}

TEST_CASE("EHLO capabilities") {
  Reply r;
  r.code = 250;
  r.lines = {
      "mx.example.test greets you", "PIPELINING", "size 10240000",       "8BITMIME", "STARTTLS",
      "AUTH PLAIN login CRAM-MD5",  "ETRN",       "ENHANCEDSTATUSCODES", "SMTPUTF8", "X-UNKNOWN thing"};
  auto c = parse_ehlo(r);
  CHECK(c.esmtp);
  CHECK(c.pipelining);
  CHECK(c.size);
  CHECK(c.size_limit == 10240000);
  CHECK(c.eightbitmime);
  CHECK(c.starttls);
  CHECK(c.etrn);
  CHECK(c.enhancedstatuscodes);
  CHECK(c.smtputf8);
  CHECK(c.has_auth("PLAIN"));
  CHECK(c.has_auth("LOGIN"));
  CHECK_FALSE(c.has_auth("XOAUTH2"));

  // The greeting line is not a keyword; a malformed SIZE number means no usable limit.
  r.lines = {"PIPELINING", "SIZE 12x"};
  c = parse_ehlo(r);
  CHECK_FALSE(c.pipelining);
  CHECK(c.size);
  CHECK(c.size_limit == 0);
}

TEST_CASE("DATA encoding: CRLF, dot stuffing, final dot (RFC 5321 4.5.2)") {
  auto enc = [](std::vector<std::string> pieces) {
    DataEncoder e;
    std::string out;
    for (const auto& p : pieces) e.encode(p, &out);
    e.finish(&out);
    return out;
  };
  CHECK(enc({"a\nb\n"}) == "a\r\nb\r\n.\r\n");
  CHECK(enc({".a\n..b\nc.\n.\n"}) == "..a\r\n...b\r\nc.\r\n..\r\n.\r\n");
  CHECK(enc({"no end"}) == "no end\r\n.\r\n");
  CHECK(enc({}) == ".\r\n");
  // Dots at a line start are found across chunk boundaries.
  CHECK(enc({"a\n", ".b\n", "c", ".d\n"}) == "a\r\n..b\r\nc.d\r\n.\r\n");
  // CR LF in the queue is one line end; a bare CR is sent as a line end, so that
  // "\r.\r" cannot smuggle an end of data past a lenient receiver.
  CHECK(enc({"a\r\nb\n"}) == "a\r\nb\r\n.\r\n");
  CHECK(enc({"a\r", "\nb\n"}) == "a\r\nb\r\n.\r\n");
  CHECK(enc({"a\r.\rb\n"}) == "a\r\n..\r\nb\r\n.\r\n");
  CHECK(enc({"x\r"}) == "x\r\n.\r\n");
  CHECK(wire_size(100, 10) == 110);
  CHECK(wire_size(UINT64_MAX, 1) == UINT64_MAX);
}

TEST_CASE("BDAT encoding: CRLF line ends, no dot stuffing, no final dot (RFC 3030 2)") {
  auto enc = [](std::vector<std::string> pieces) {
    DataEncoder e(false);
    std::string out;
    for (const auto& p : pieces) e.encode(p, &out);
    e.finish(&out);
    return out;
  };
  CHECK(enc({".a\n..b\n.\n"}) == ".a\r\n..b\r\n.\r\n");
  CHECK(enc({"no end"}) == "no end\r\n");
  CHECK(enc({}).empty());
  CHECK(enc({"a\r", "\nb\n"}) == "a\r\nb\r\n");  // a CR LF split across pieces
  // The pending CR is written by the piece that follows it: each piece's output is whole.
  DataEncoder e(false);
  std::string one, two;
  e.encode("a\r", &one);
  e.encode("\n", &two);
  CHECK(one == "a");
  CHECK(two == "\r\n");
}

#include "common/smtp/next_hop.hpp"

TEST_CASE("next hops in Postfix syntax: host, host:port, [host], [host]:port") {
  auto h = parse_next_hop("Relay.ISP.example");
  REQUIRE(h.is_ok());
  CHECK(h->host == "relay.isp.example");
  CHECK(h->port == 25);
  CHECK(h->mx_lookup);
  CHECK(h->str() == "relay.isp.example:25");

  h = parse_next_hop("[smtp.isp.example]:587");
  REQUIRE(h.is_ok());
  CHECK_FALSE(h->mx_lookup);
  CHECK(h->port == 587);
  CHECK(h->str() == "[smtp.isp.example]:587");

  h = parse_next_hop("192.0.2.7:2525");
  REQUIRE(h.is_ok());
  CHECK(h->is_ip);
  CHECK_FALSE(h->mx_lookup);
  CHECK(h->str() == "192.0.2.7:2525");

  h = parse_next_hop("[2001:db8::1]:25");
  REQUIRE(h.is_ok());
  CHECK(h->is_ip);
  CHECK(h->host == "2001:db8::1");
  CHECK(h->str() == "[2001:db8::1]:25");

  CHECK_FALSE(parse_next_hop("").is_ok());
  CHECK_FALSE(parse_next_hop("host:0").is_ok());
  CHECK_FALSE(parse_next_hop("host:65536").is_ok());
  CHECK_FALSE(parse_next_hop("host:").is_ok());
  CHECK_FALSE(parse_next_hop("[host").is_ok());
  CHECK_FALSE(parse_next_hop("bad_host").is_ok());
  CHECK_FALSE(parse_next_hop("2001:db8::1").is_ok());  // IPv6 needs brackets
  CHECK_FALSE(parse_next_hop("host:25x").is_ok());
}
