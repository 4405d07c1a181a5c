// Tests of the RETR/TOP wire encoding (RFC 1939 3 byte-stuffing, 7 TOP) and the size.
#include "pop3d/stream.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace pop3d;

namespace {

// Encodes `in` fed in pieces of `step` bytes.
std::string encode(const std::string& in, std::optional<std::uint64_t> top = std::nullopt,
                   std::size_t step = 1) {
  WireEncoder e(top);
  std::string out;
  for (std::size_t i = 0; i < in.size() && !e.done(); i += step)
    e.feed(std::string_view(in).substr(i, step), out);
  e.finish(out);
  return out;
}

// The encoding as RFC 1939 3 and 7 describe it, a byte at a time: what WireEncoder's
// line-at-a-time copying must reproduce.
std::string reference(const std::string& in, std::optional<std::uint64_t> top) {
  std::string out;
  bool bol = true, cr = false, body = false;
  std::uint64_t len = 0;
  for (char c : in) {
    if (bol) {
      bol = false;
      len = 0;
      if (body && top) {
        if (*top == 0) return out + ".\r\n";
        --*top;
      }
      if (c == '.') out += '.';
    }
    if (c == '\n') {
      if (!cr) out += '\r';
      out += '\n';
      if (len == 0 || (len == 1 && cr)) body = true;
      bol = true;
      cr = false;
      continue;
    }
    out += c;
    ++len;
    cr = c == '\r';
  }
  if (!bol) out += cr ? "\n" : "\r\n";
  return out + ".\r\n";
}

std::uint64_t wire_size(const std::string& in) {
  WireSizer s;
  s.feed(in);
  return s.size();
}

}  // namespace

TEST_CASE("LF becomes CRLF, CRLF stays, dots are stuffed, whatever the chunking") {
  const std::string msg = "Subject: x\n\n.hidden\n..two\nplain.\n.\nend\n";
  const std::string want = "Subject: x\r\n\r\n..hidden\r\n...two\r\nplain.\r\n..\r\nend\r\n.\r\n";
  for (std::size_t step : {1, 2, 3, 5, 64}) CHECK(encode(msg, std::nullopt, step) == want);
  CHECK(encode("a\r\n.b\r\n") == "a\r\n..b\r\n.\r\n");
}

TEST_CASE("a message without a final line end gets one before the terminator") {
  CHECK(encode("a\nb") == "a\r\nb\r\n.\r\n");
  CHECK(encode("a\r") == "a\r\n.\r\n");
  CHECK(encode("") == ".\r\n");
  CHECK(encode(".") == "..\r\n.\r\n");
}

TEST_CASE("TOP: headers, the blank line, then n body lines (RFC 1939 7)") {
  const std::string msg = "From: a\nSubject: b\n\nline1\n.line2\nline3\n";
  CHECK(encode(msg, 0) == "From: a\r\nSubject: b\r\n\r\n.\r\n");
  CHECK(encode(msg, 2) == "From: a\r\nSubject: b\r\n\r\nline1\r\n..line2\r\n.\r\n");
  CHECK(encode(msg, 100) == encode(msg));
  CHECK(encode("From: a\r\n\r\nbody\r\n", 0) == "From: a\r\n\r\n.\r\n");
  CHECK(encode("From: a\nno blank line", 0) == "From: a\r\nno blank line\r\n.\r\n");
}

TEST_CASE("WireSizer counts what RETR sends before stuffing") {
  CHECK(wire_size("a\nb\n") == 6);
  CHECK(wire_size("a\r\nb\n") == 6);
  CHECK(wire_size("") == 0);
  const std::string msg = "Subject: x\n\nbody\n.dot\n";
  std::string enc = encode(msg);
  // The encoding adds one '.' for ".dot" and the 3-byte terminator.
  CHECK(enc.size() == wire_size(msg) + 1 + 3);
}

TEST_CASE("any message, any chunking, RETR or TOP: the same bytes as the byte-at-a-time rules") {
  std::mt19937 rng(1939);
  const char alphabet[] = {'a', 'b', '.', '.', '\r', '\n', '\n', ' '};
  for (int round = 0; round < 3000; ++round) {
    std::string msg;
    std::size_t len = rng() % 200;
    for (std::size_t i = 0; i < len; ++i) msg += alphabet[rng() % sizeof alphabet];
    std::optional<std::uint64_t> top;
    if (rng() % 3 == 0) top = rng() % 5;
    std::size_t step = 1 + rng() % 40;
    INFO("message: " << msg << " step " << step);
    CHECK(encode(msg, top, step) == reference(msg, top));
  }
}
