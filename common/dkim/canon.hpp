// DKIM canonicalisation, "relaxed" for header and body (RFC 6376 3.4.2, 3.4.4), over a
// message as Mailbag's remote agent puts it on the wire: the queue holds LF line ends,
// and LF, CR LF and a bare CR each become one CRLF (common/smtp/data_encoder.hpp), so
// the signer splits lines the same way and the signature covers exactly what is sent.
// Text processing only: hashing and signing are OpenSSL's (sign.cpp).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace common::dkim {

// Splits a byte stream into lines, each terminator (LF, CR LF, bare CR) ending one line,
// and a last line without a terminator counting as one. Lines carry no terminator.
class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit LineSplitter(Sink sink) : sink_(std::move(sink)) {}
  void feed(std::string_view chunk);
  void finish();

 private:
  Sink sink_;
  std::string partial_;
  bool pending_cr_ = false;
};

// One header field as it appears in the message: its name (as written) and its whole
// text, continuation lines included, lines joined by CRLF, without the final CRLF.
struct HeaderField {
  std::string name;
  std::string raw;
};

// Collects header fields from lines until the empty line that ends the header. A line
// that neither continues a field nor holds a colon is kept as a nameless field, which
// no h= can select.
class HeaderCollector {
 public:
  // Returns false once the header has ended (the empty line was seen).
  bool add_line(std::string_view line);
  bool done() const { return done_; }
  std::vector<HeaderField>& fields() { return fields_; }

 private:
  std::vector<HeaderField> fields_;
  bool done_ = false;
};

// RFC 6376 3.4.2: the field name lower-cased, unfolded, runs of WSP as one SP, WSP at
// the end of the value and around the colon removed; followed by CRLF.
std::string relaxed_header(std::string_view raw);

// RFC 6376 3.4.4: WSP at the ends of lines removed, runs of WSP as one SP, empty lines
// at the end of the body removed, and (for a non-empty body) a CRLF after the last line.
// Streaming: feed one line (no terminator) at a time; `out` receives canonical bytes.
class RelaxedBody {
 public:
  using Sink = std::function<void(std::string_view bytes)>;
  explicit RelaxedBody(Sink out) : out_(std::move(out)) {}
  void line(std::string_view l);

 private:
  Sink out_;
  std::size_t empty_lines_ = 0;
  std::string buf_;
};

// The same over a whole body in memory (for tests and small inputs).
std::string relaxed_body(std::string_view body);

inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace common::dkim
