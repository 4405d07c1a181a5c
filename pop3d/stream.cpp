// LF -> CRLF, byte-stuffing and TOP truncation for RETR and TOP (see stream.hpp).
#include "pop3d/stream.hpp"

#include <cstring>

namespace pop3d {

// Copies each line's text in one piece (memchr finds its LF); only line starts and line
// ends need a decision.
void WireEncoder::feed(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 16 + 8);
  const char* p = in.data();
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n && !stopped_) {
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
      if (p[i] == '.') out += '.';  // RFC 1939 3: byte-stuff a leading termination octet
    }
    const void* nl = std::memchr(p + i, '\n', n - i);
    std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) : n;
    if (end > i) {
      out.append(p + i, end - i);
      line_bytes_ += end - i;
      prev_cr_ = p[end - 1] == '\r';
      i = end;
    }
    if (i == n) break;
    // p[i] is the LF that ends the line.
    if (!prev_cr_) out += '\r';
    out += '\n';
    // An empty line (or one holding only the CR of a CRLF) ends the header block.
    if (line_bytes_ == 0 || (line_bytes_ == 1 && prev_cr_)) in_body_ = true;
    at_line_start_ = true;
    prev_cr_ = false;
    ++i;
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
