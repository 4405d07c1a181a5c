// libFuzzer target for the DATA reader (dot-unstuffing, end of data, bare LF/CR). The
// input is fed whole, byte by byte and split at a point chosen by its first byte; all
// three must agree, and agree with a slow reference: the data ends exactly after the
// first CRLF "." CRLF (counting the CRLF that ended the DATA command), and without bare
// CR/LF the output is the unstuffed lines joined by LF. In BDAT's chunked mode the whole
// input is the text, cut into two chunks: without bare CR/LF the output is the input
// with CRLF turned into LF and a missing last line end added.
// Seed corpus: tests/fuzz/corpus/data_reader_fuzz/.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "smtpd/data_reader.hpp"

namespace {

struct Result {
  std::string out;
  std::size_t used = 0;
  bool done = false, bare = false, nul = false, long_line = false, eight_bit = false;
  std::uint64_t size = 0;
  bool operator==(const Result&) const = default;
};

Result run(std::string_view in, std::size_t step) {
  smtpd::DataReader r;
  Result res;
  for (std::size_t i = 0; i < in.size() && !r.done(); i += step)
    res.used += r.feed(in.substr(i, step), &res.out);
  res.done = r.done();
  res.bare = r.bare_lf() || r.bare_cr();
  res.nul = r.nul();
  res.long_line = r.long_line();
  res.eight_bit = r.eight_bit();
  res.size = r.size();
  return res;
}

std::string reference_unstuff(std::string_view body) {
  // body: complete CRLF lines (the data before the end line).
  std::string out;
  while (!body.empty()) {
    auto end = body.find("\r\n");
    std::string_view line = body.substr(0, end);
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    out.append(line);
    out.push_back('\n');
    body.remove_prefix(end + 2);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result whole = run(in, in.size() ? in.size() : 1);
  Result bytes = run(in, 1);
  MB_CHECK(whole == bytes, "byte-wise feeding differs");
  std::size_t cut = in.empty() ? 0 : 1 + static_cast<unsigned char>(in[0]) % in.size();
  {
    smtpd::DataReader r;
    Result two;
    two.used = r.feed(in.substr(0, cut), &two.out);
    if (!r.done()) two.used += r.feed(in.substr(cut), &two.out);
    two.done = r.done();
    two.bare = r.bare_lf() || r.bare_cr();
    two.nul = r.nul();
    two.long_line = r.long_line();
    two.eight_bit = r.eight_bit();
    two.size = r.size();
    MB_CHECK(two == whole, "split feeding differs");
  }

  std::string framed = "\r\n" + std::string(in);
  auto p = framed.find("\r\n.\r\n");
  MB_CHECK(whole.done == (p != std::string::npos), "end of data found where the reference has none");
  MB_CHECK(whole.used == (whole.done ? p + 3 : in.size()), "end of data at the wrong place");
  if (whole.done && !whole.bare) {
    std::string_view body = in.substr(0, p);  // complete CRLF lines before "." CRLF
    MB_CHECK(whole.out == reference_unstuff(body), "unstuffed text differs from the reference");
    std::size_t dots = 0;
    bool bol = true;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (bol && body[i] == '.') ++dots;
      bol = body[i] == '\n';
    }
    MB_CHECK(whole.size == body.size() - dots, "size is not the unstuffed CRLF size");
  }
  {
    smtpd::DataReader r;
    r.set_chunked();
    std::string out;
    MB_CHECK(r.feed(in.substr(0, cut), &out) == std::min(cut, in.size()), "chunk not consumed");
    MB_CHECK(r.feed(in.substr(std::min(cut, in.size())), &out) == in.size() - std::min(cut, in.size()),
             "chunk not consumed");
    r.end_chunks(&out);
    MB_CHECK(r.done(), "chunked message not ended");
    if (!r.bare_lf() && !r.bare_cr()) {
      std::string expect;
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') continue;  // only in CRLF pairs here
        expect.push_back(in[i]);
      }
      if (!expect.empty() && expect.back() != '\n') expect.push_back('\n');
      MB_CHECK(out == expect, "chunked text differs from the reference");
    }
  }
  return 0;
}
