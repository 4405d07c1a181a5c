// The DATA stream parser: a pure class fed arbitrary byte chunks of the message text
// that follows "354". It finds the end of data, undoes dot-stuffing and turns CRLF into
// LF, and records what makes the message unacceptable, without stopping early: the
// session always reads to the real end, so one transaction can never be split in two.
// UNTRUSTED: network bytes. Fuzzed by data_reader_fuzz.cpp.
//
//   RFC 5321 4.1.1.4: the data ends only at CRLF "." CRLF (the first CRLF may be the
//     one that ended the DATA command line, so "." CRLF at the very start ends it too).
//   RFC 5321 4.5.2: a leading "." is removed from a line that has other characters.
//   RFC 5321 2.3.8: CR and LF appear only together as CRLF. A bare LF or bare CR is
//     recorded (bare_lf/bare_cr) and never ends a line or the data, so "\n.\r\n",
//     "\r\n.\n" and "\r.\r\n" cannot end the message (SMTP smuggling).
//   RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF, "not counting
//     the leading dot duplicated for transparency"; longer lines set long_line.
//   RFC 2045 2.7/2.8: neither 7bit nor 8bit data may contain NUL; only BINARYMIME
//     (RFC 3030), which we do not offer, allows it. A NUL sets nul.
//   RFC 3030 2: BDAT chunks are counted, not dot-stuffed and not ended by a "." line
//     (set_chunked()); the CRLF rules above still hold, across chunk boundaries too,
//     since BDAT without BINARYMIME carries the same 7bit/8bit text as DATA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smtpd {

inline constexpr std::size_t kMaxTextLine = 1000;  // incl. CRLF, RFC 5321 4.5.3.1.6

class DataReader {
 public:
  // Consumes bytes of `in` up to and including the end-of-data line and appends the
  // message text (dot-unstuffed, LF line ends) to *out. Returns how many bytes were
  // consumed: in.size() unless the end was reached inside `in`; what follows the end
  // (pipelined commands) is left to the caller. Does nothing once done().
  std::size_t feed(std::string_view in, std::string* out);

  // BDAT: from now on feed() consumes everything it is given and "." is an ordinary
  // byte; end_chunks() ends the message (after the LAST chunk).
  void set_chunked() { chunked_ = true; }
  // Ends a chunked message: a CR left at the very end is a bare CR, and a last line
  // without its CRLF gets one (every stored message ends with a line end, as after
  // DATA; Postfix does the same).
  void end_chunks(std::string* out);

  bool done() const { return state_ == State::kDone; }
  bool bare_lf() const { return bare_lf_; }
  bool bare_cr() const { return bare_cr_; }
  bool nul() const { return nul_; }
  bool long_line() const { return long_line_; }
  bool eight_bit() const { return eight_bit_; }
  // Message size as SIZE counts it (RFC 1870): unstuffed octets with CRLF line ends.
  std::uint64_t size() const { return size_; }

 private:
  enum class State {
    kLineStart,  // after CRLF (or at the start): a "." here may begin the end line
    kDot,        // "." at the start of a line
    kDotCr,      // "." CR at the start of a line
    kText,       // inside a line
    kCr,         // CR inside a line: CRLF ends the line, anything else is a bare CR
    kDone,
  };
  void text_byte(unsigned char c, std::string* out);
  std::size_t text_run(std::string_view in, std::size_t i);
  void add_content(std::size_t n);

  State state_ = State::kLineStart;
  std::size_t line_len_ = 0;  // octets of the current line so far, without CRLF
  std::uint64_t size_ = 0;
  bool bare_lf_ = false;
  bool bare_cr_ = false;
  bool nul_ = false;
  bool long_line_ = false;
  bool eight_bit_ = false;
  bool chunked_ = false;
};

}  // namespace smtpd
