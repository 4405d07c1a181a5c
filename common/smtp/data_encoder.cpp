// Implementation of the streaming DATA encoder (see data_encoder.hpp).
#include "common/smtp/data_encoder.hpp"

namespace common::smtp {

void DataEncoder::encode(std::string_view chunk, std::string* out) {
  out->reserve(out->size() + chunk.size() + chunk.size() / 32 + 8);
  std::size_t i = 0;
  while (i < chunk.size()) {
    char c = chunk[i];
    if (pending_cr_) {
      pending_cr_ = false;
      *out += "\r\n";
      line_start_ = true;
      if (c == '\n') {  // CR LF in the queue: one line end
        ++i;
        continue;
      }
    }
    if (c == '\r') {
      pending_cr_ = true;
      ++i;
      continue;
    }
    if (c == '\n') {
      *out += "\r\n";
      line_start_ = true;
      ++i;
      continue;
    }
    if (line_start_ && c == '.' && dot_stuff_) out->push_back('.');  // RFC 5321 4.5.2
    // Copy the rest of the line in one go.
    std::size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) end = chunk.size();
    out->append(chunk.substr(i, end - i));
    line_start_ = false;
    i = end;
  }
}

void DataEncoder::finish(std::string* out) {
  if (pending_cr_) {
    pending_cr_ = false;
    *out += "\r\n";
    line_start_ = true;
  }
  if (!line_start_) *out += "\r\n";
  if (dot_stuff_) *out += ".\r\n";
  line_start_ = true;
}

std::uint64_t wire_size(std::uint64_t lf_bytes, std::uint64_t lf_lines) {
  std::uint64_t n;
  if (__builtin_add_overflow(lf_bytes, lf_lines, &n)) return UINT64_MAX;
  return n;
}

}  // namespace common::smtp
