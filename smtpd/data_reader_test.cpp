// DataReader: end of data, dot-unstuffing, CRLF -> LF, and the smuggling cases, fed in
// every possible split (RFC 5321 4.1.1.4, 4.5.2, 2.3.8, 4.5.3.1.6; RFC 2045 2.8).
#include "smtpd/data_reader.hpp"

#include <doctest/doctest.h>

#include <string>

using smtpd::DataReader;

namespace {

struct Run {
  std::string out;
  std::size_t consumed = 0;
  bool done = false, bare_lf = false, bare_cr = false, nul = false, long_line = false, eight_bit = false;
  std::uint64_t size = 0;
};

Run finish(const DataReader& r, std::string out, std::size_t consumed) {
  return Run{std::move(out), consumed,      r.done(),      r.bare_lf(), r.bare_cr(),
             r.nul(),        r.long_line(), r.eight_bit(), r.size()};
}

Run whole(std::string_view in) {
  DataReader r;
  std::string out;
  std::size_t used = r.feed(in, &out);
  return finish(r, out, used);
}

// Feeds `in` split at every position given by the mask of cut points (for short
// inputs), or one byte at a time.
Run bytewise(std::string_view in) {
  DataReader r;
  std::string out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < in.size() && !r.done(); ++i) used += r.feed(in.substr(i, 1), &out);
  return finish(r, out, used);
}

Run split_at(std::string_view in, std::size_t cut) {
  DataReader r;
  std::string out;
  std::size_t used = r.feed(in.substr(0, cut), &out);
  if (!r.done()) used += r.feed(in.substr(cut), &out);
  return finish(r, out, used);
}

void same(const Run& a, const Run& b) {
  CHECK(a.out == b.out);
  CHECK(a.consumed == b.consumed);
  CHECK(a.done == b.done);
  CHECK(a.bare_lf == b.bare_lf);
  CHECK(a.bare_cr == b.bare_cr);
  CHECK(a.nul == b.nul);
  CHECK(a.long_line == b.long_line);
  CHECK(a.size == b.size);
}

}  // namespace

TEST_CASE("RFC 5321 4.1.1.4: data ends at CRLF.CRLF and the rest is left for commands") {
  std::string in = "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
  Run r = whole(in);
  CHECK(r.done);
  CHECK(r.out == "Subject: hi\n\nbody\n");
  CHECK(r.consumed == in.size() - 6);
  CHECK(!r.bare_lf);
  CHECK(!r.bare_cr);
  CHECK(r.size == 21);  // with CRLF line ends, as SIZE counts (RFC 1870)
}

TEST_CASE("every split point, including each inside CRLF.CRLF, gives the same result") {
  std::string in = "a\r\n..b\r\n.\r\nMAIL FROM:<x@y>\r\n";
  Run ref = whole(in);
  CHECK(ref.done);
  CHECK(ref.out == "a\n.b\n");
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    CAPTURE(cut);
    same(split_at(in, cut), ref);
  }
  same(bytewise(in), ref);
}

TEST_CASE("every pair of split points around the terminator") {
  std::string in = "x\r\n.\r\n";
  Run ref = whole(in);
  REQUIRE(ref.done);
  for (std::size_t a = 0; a <= in.size(); ++a)
    for (std::size_t b = a; b <= in.size(); ++b) {
      DataReader r;
      std::string out;
      std::size_t used = r.feed(std::string_view(in).substr(0, a), &out);
      used += r.feed(std::string_view(in).substr(a, b - a), &out);
      used += r.feed(std::string_view(in).substr(b), &out);
      CAPTURE(a);
      CAPTURE(b);
      same(finish(r, out, used), ref);
    }
}

TEST_CASE("empty message: the terminator right after DATA (RFC 5321 4.1.1.4)") {
  Run r = whole(".\r\n");
  CHECK(r.done);
  CHECK(r.out.empty());
  CHECK(r.size == 0);
  CHECK(r.consumed == 3);
}

TEST_CASE("RFC 5321 4.5.2: dot at the start of data and of lines is unstuffed") {
  CHECK(whole("..\r\n.\r\n").out == ".\n");
  CHECK(whole("...\r\n.\r\n").out == "..\n");
  CHECK(whole(".x\r\n.\r\n").out == "x\n");   // unstuffed as the RFC says, even if unneeded
  CHECK(whole("a.\r\n.\r\n").out == "a.\n");  // only a leading dot counts
  CHECK(whole("\r\n..\r\n.\r\n").out == "\n.\n");
  Run r = whole(". \r\n.\r\n");
  CHECK(r.done);
  CHECK(r.out == " \n");
}

TEST_CASE("smuggling: bare LF or CR never ends the data (RFC 5321 2.3.8)") {
  // Each of these would end the data on a lenient server; here they are message text,
  // flagged, and the data goes on to the real CRLF.CRLF.
  for (const char* attack : {"a\n.\r\n", "a\r\n.\n", "a\n.\n", "a\r.\r\n", "a\r\n.\r", "a\r.\r"}) {
    CAPTURE(attack);
    std::string in = std::string(attack) + "MAIL FROM:<evil@x>\r\n";
    Run r = whole(in);
    CHECK_FALSE(r.done);
    CHECK(r.consumed == in.size());
    CHECK((r.bare_lf || r.bare_cr));
    Run end = whole(in + "\r\n.\r\n");
    CHECK(end.done);
    CHECK(end.consumed == in.size() + 5);
  }
}

TEST_CASE("a CRLF after a bare CR still ends a line; a lone LF is flagged") {
  Run r = whole("a\r\r\n.\r\n");
  CHECK(r.done);
  CHECK(r.bare_cr);
  CHECK(!r.bare_lf);
  Run l = whole("a\nb\r\n.\r\n");
  CHECK(l.done);
  CHECK(l.bare_lf);
  CHECK(!l.bare_cr);
}

TEST_CASE("RFC 5321 4.5.3.1.6: 998 octets plus CRLF is the longest line") {
  std::string ok(998, 'x');
  Run r = whole(ok + "\r\n.\r\n");
  CHECK(r.done);
  CHECK_FALSE(r.long_line);
  CHECK(r.out == ok + "\n");

  Run bad = whole(std::string(999, 'x') + "\r\n.\r\n");
  CHECK(bad.done);
  CHECK(bad.long_line);

  // The stuffing dot is not counted ("not counting the leading dot").
  Run stuffed = whole("." + std::string(998, '.') + "\r\n.\r\n");
  CHECK(stuffed.done);
  CHECK_FALSE(stuffed.long_line);
  CHECK(stuffed.out == std::string(998, '.') + "\n");

  // Split in the middle of a long line: the count carries across chunks.
  std::string in = std::string(999, 'y') + "\r\n.\r\n";
  same(split_at(in, 500), whole(in));
}

TEST_CASE("8-bit bytes pass through unchanged (RFC 6152)") {
  std::string body =
      "gr\xc3\xbc\xc3\x9f"
      "e \xff\x80\r\n";
  Run r = whole(body + ".\r\n");
  CHECK(r.done);
  CHECK(r.eight_bit);
  CHECK(r.out ==
        "gr\xc3\xbc\xc3\x9f"
        "e \xff\x80\n");
  CHECK_FALSE(whole("plain\r\n.\r\n").eight_bit);
}

TEST_CASE("NUL is recorded: not allowed in 7bit or 8bit data (RFC 2045 2.7, 2.8)") {
  std::string in("a\0b\r\n.\r\n", 8);
  Run r = whole(in);
  CHECK(r.done);
  CHECK(r.nul);
  CHECK(r.out == std::string("a\0b\n", 4));
}

TEST_CASE("nothing is consumed once done") {
  DataReader r;
  std::string out;
  CHECK(r.feed(".\r\n", &out) == 3);
  CHECK(r.done());
  CHECK(r.feed("more\r\n", &out) == 0);
  CHECK(out.empty());
}

namespace {

// BDAT: the text cut into chunks at the given offsets, then ended.
Run chunked(std::string_view in, std::initializer_list<std::size_t> cuts) {
  DataReader r;
  r.set_chunked();
  std::string out;
  std::size_t used = 0, at = 0;
  for (std::size_t c : cuts) {
    used += r.feed(in.substr(at, c - at), &out);
    at = c;
  }
  used += r.feed(in.substr(at), &out);
  r.end_chunks(&out);
  return finish(r, out, used);
}

}  // namespace

TEST_CASE("RFC 3030 2: BDAT chunks are not dot-stuffed and a \".\" line ends nothing") {
  std::string in = ".hidden\r\n.\r\n..two\r\nlast\r\n";
  Run r = chunked(in, {});
  CHECK(r.consumed == in.size());
  CHECK(r.done);
  CHECK(r.out == ".hidden\n.\n..two\nlast\n");
  CHECK(r.size == in.size());
  CHECK_FALSE(r.bare_cr);
  CHECK_FALSE(r.bare_lf);
}

TEST_CASE("RFC 3030 2 with RFC 5321 2.3.8: a CRLF split across chunks is one line end") {
  std::string in = "a\r\nb\r\n";
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    Run r = chunked(in, {cut});
    CHECK(r.out == "a\nb\n");
    CHECK_FALSE(r.bare_cr);
    CHECK(r.size == in.size());
  }
  // Every byte its own chunk, empty chunks between.
  Run r = chunked(in, {0, 0, 1, 2, 2, 3, 4, 5});
  CHECK(r.out == "a\nb\n");
}

TEST_CASE("BDAT: a CR at the very end is bare; a last line without CRLF gets one") {
  Run cr = chunked("text\r", {});
  CHECK(cr.bare_cr);
  Run open = chunked("no line end", {3});
  CHECK_FALSE(open.bare_cr);
  CHECK(open.out == "no line end\n");
  CHECK(open.size == 13);
  Run empty = chunked("", {});  // BDAT 0 LAST: an empty message stays empty
  CHECK(empty.out.empty());
  CHECK(empty.done);
}

TEST_CASE("BDAT: bare LF, NUL and long lines are recorded as after DATA") {
  CHECK(chunked("a\nb\r\n", {}).bare_lf);
  CHECK(chunked(std::string("a\0b\r\n", 5), {2}).nul);
  CHECK(chunked(std::string(999, 'x') + "\r\n", {500}).long_line);
  CHECK_FALSE(chunked(std::string(998, 'x') + "\r\n", {500}).long_line);
}
