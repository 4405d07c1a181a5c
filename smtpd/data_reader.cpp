// The DATA stream parser (see data_reader.hpp for the rules and their RFC sections).
// UNTRUSTED: network bytes; a byte-at-a-time state machine with a fast path that copies
// runs of ordinary bytes, so every split of the input gives the same result.
#include "smtpd/data_reader.hpp"

namespace smtpd {

void DataReader::add_content(std::size_t n) {
  size_ += n;
  line_len_ += n;
  // RFC 5321 4.5.3.1.6: 1000 octets including CRLF leave 998 for the text.
  if (line_len_ > kMaxTextLine - 2) long_line_ = true;
}

// One byte inside a line (state kText, or a byte that turned the state into kText).
void DataReader::text_byte(unsigned char c, std::string* out) {
  state_ = State::kText;
  if (c == '\r') {
    state_ = State::kCr;
    return;
  }
  if (c == '\n') {
    // RFC 5321 2.3.8: a bare LF is not a line end, so what follows it is not at the
    // start of a line and "\n.\r\n" cannot end the data.
    bare_lf_ = true;
    out->push_back('\n');
    size_ += 1;
    line_len_ = 0;
    return;
  }
  if (c == 0) nul_ = true;
  if (c & 0x80) eight_bit_ = true;
  out->push_back(static_cast<char>(c));
  add_content(1);
}

std::size_t DataReader::feed(std::string_view in, std::string* out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n && state_ != State::kDone) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    switch (state_) {
      case State::kLineStart:
        ++i;
        if (c == '.') {
          state_ = State::kDot;
        } else {
          text_byte(c, out);
        }
        break;
      case State::kDot:
        ++i;
        if (c == '\r') {
          state_ = State::kDotCr;
        } else {
          // RFC 5321 4.5.2: the leading "." of a line with more characters is deleted.
          text_byte(c, out);
        }
        break;
      case State::kDotCr:
        ++i;
        if (c == '\n') {
          state_ = State::kDone;  // CRLF "." CRLF
        } else {
          // "." CR and not LF: the CR is bare; the dot was stuffing, so it is gone.
          bare_cr_ = true;
          out->push_back('\r');
          add_content(1);
          text_byte(c, out);
        }
        break;
      case State::kCr:
        ++i;
        if (c == '\n') {
          out->push_back('\n');
          size_ += 2;
          line_len_ = 0;
          state_ = State::kLineStart;
        } else {
          bare_cr_ = true;
          out->push_back('\r');
          add_content(1);
          text_byte(c, out);
        }
        break;
      case State::kText: {
        // Fast path: copy a run of bytes that need no decision.
        std::size_t j = i;
        while (j < n) {
          unsigned char d = static_cast<unsigned char>(in[j]);
          if (d == '\r' || d == '\n' || d == 0) break;
          if (d & 0x80) eight_bit_ = true;
          ++j;
        }
        if (j > i) {
          out->append(in.data() + i, j - i);
          add_content(j - i);
          i = j;
        } else {
          ++i;
          text_byte(c, out);
        }
        break;
      }
      case State::kDone:
        break;
    }
  }
  return i;
}

}  // namespace smtpd
