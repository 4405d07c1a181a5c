// Implementation of DKIM relaxed canonicalisation (see canon.hpp).
#include "common/dkim/canon.hpp"

#include "common/mail/ascii.hpp"

namespace common::dkim {

void LineSplitter::feed(std::string_view chunk) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (pending_cr_) {
      pending_cr_ = false;
      sink_(partial_);
      partial_.clear();
      if (chunk[i] == '\n') {  // CR LF: one line end
        ++i;
        continue;
      }
    }
    std::size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      partial_.append(chunk.substr(i));
      return;
    }
    partial_.append(chunk.substr(i, end - i));
    if (chunk[end] == '\r') {
      pending_cr_ = true;
    } else {
      sink_(partial_);
      partial_.clear();
    }
    i = end + 1;
  }
}

void LineSplitter::finish() {
  if (pending_cr_ || !partial_.empty()) sink_(partial_);
  pending_cr_ = false;
  partial_.clear();
}

bool HeaderCollector::add_line(std::string_view line) {
  if (done_) return false;
  if (line.empty()) {
    done_ = true;
    return false;
  }
  if (is_wsp(line[0]) && !fields_.empty()) {  // RFC 5322 2.2.3 folding
    fields_.back().raw.append("\r\n").append(line);
    return true;
  }
  HeaderField f;
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    f.name = std::string(name);
  }
  f.raw = std::string(line);
  fields_.push_back(std::move(f));
  return true;
}

std::string relaxed_header(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + 2);
  auto colon = raw.find(':');
  std::string_view name = raw.substr(0, colon == std::string_view::npos ? raw.size() : colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  out = common::mail::lower(std::string(name));
  out.push_back(':');
  if (colon == std::string_view::npos) return out + "\r\n";
  // The value: unfold (drop CR and LF), collapse WSP runs, trim both ends.
  bool in_wsp = false;
  bool started = false;
  for (char c : raw.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;
    if (is_wsp(c)) {
      in_wsp = true;
      continue;
    }
    if (in_wsp && started) out.push_back(' ');
    in_wsp = false;
    started = true;
    out.push_back(c);
  }
  out.append("\r\n");
  return out;
}

void RelaxedBody::line(std::string_view l) {
  buf_.clear();
  bool in_wsp = false;
  for (char c : l) {
    if (is_wsp(c)) {
      in_wsp = true;
      continue;
    }
    if (in_wsp) buf_.push_back(' ');
    in_wsp = false;
    buf_.push_back(c);
  }
  if (buf_.empty()) {  // maybe one of the trailing empty lines: held back
    ++empty_lines_;
    return;
  }
  for (; empty_lines_ > 0; --empty_lines_) out_("\r\n");
  buf_.append("\r\n");
  out_(buf_);
}

std::string relaxed_body(std::string_view body) {
  std::string out;
  RelaxedBody rb([&](std::string_view b) { out.append(b); });
  LineSplitter split([&](std::string_view l) { rb.line(l); });
  split.feed(body);
  split.finish();
  return out;
}

}  // namespace common::dkim
