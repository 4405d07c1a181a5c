// LF -> CRLF, byte-stuffing and TOP truncation for RETR and TOP (see stream.hpp).
#include "pop3d/stream.hpp"

namespace pop3d {

void WireEncoder::feed(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 16 + 8);
  for (std::size_t i = 0; i < in.size() && !stopped_; ++i) {
    char c = in[i];
    if (at_line_start_) {
      at_line_start_ = false;
      line_bytes_ = 0;
      // TOP n: the header block, the blank line, then n body lines.
      if (in_body_ && body_lines_) {
        if (*body_lines_ == 0) {
          stopped_ = true;
          break;
        }
        --*body_lines_;
      }
      if (c == '.') out += '.';  // RFC 1939 3: byte-stuff a leading termination octet
    }
    if (c == '\n') {
      if (!prev_cr_) out += '\r';
      out += '\n';
      // An empty line (or one holding only the CR of a CRLF) ends the header block.
      if (line_bytes_ == 0 || (line_bytes_ == 1 && prev_cr_)) in_body_ = true;
      at_line_start_ = true;
      prev_cr_ = false;
      continue;
    }
    out += c;
    ++line_bytes_;
    prev_cr_ = c == '\r';
  }
}

void WireEncoder::finish(std::string& out) {
  if (!at_line_start_ && !stopped_) out += prev_cr_ ? "\n" : "\r\n";
  out += ".\r\n";
}

void WireSizer::feed(std::string_view in) {
  for (char c : in) {
    if (c == '\n' && !prev_cr_) ++size_;
    ++size_;
    prev_cr_ = c == '\r';
  }
}

}  // namespace pop3d
