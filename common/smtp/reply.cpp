// Implementation of the client-side SMTP reply parser (see reply.hpp).
// UNTRUSTED: everything here is server input.
#include "common/smtp/reply.hpp"

#include "common/check.hpp"

namespace common::smtp {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// Appends `s` with control characters, backslash and bytes >= 0x7f escaped as \xNN.
void append_printable(std::string* out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out->push_back('\\');
      out->push_back('x');
      out->push_back(hex[c >> 4]);
      out->push_back(hex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

// `text` without a leading enhanced code equal to `enh` (and the blank after it).
std::string_view strip_enhanced(std::string_view text, const std::string& enh) {
  if (enh.empty() || !text.starts_with(enh)) return text;
  std::string_view rest = text.substr(enh.size());
  if (rest.empty()) return rest;
  if (rest[0] != ' ') return text;
  return rest.substr(1);
}

}  // namespace

bool is_enhanced_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t i = 2;
  auto number = [&](bool last) {
    std::size_t start = i;
    while (i < s.size() && digit(s[i]) && i - start < 4) ++i;
    std::size_t n = i - start;
    if (n < 1 || n > 3) return false;
    // RFC 3463 2: no leading zeros in a multi-digit subject or detail.
    if (n > 1 && s[start] == '0') return false;
    return last ? i == s.size() : (i < s.size() && s[i] == '.');
  };
  if (!number(false)) return false;
  ++i;
  return number(true);
}

std::string enhanced_status(std::string_view text, int code) {
  std::size_t end = text.find(' ');
  std::string_view word = text.substr(0, end);
  if (!is_enhanced_status(word)) return "";
  if (word[0] - '0' != code / 100) return "";
  return std::string(word);
}

std::string Reply::text() const {
  std::string out;
  for (const auto& l : lines) {
    std::string_view t = strip_enhanced(l, enhanced);
    if (t.empty()) continue;
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

std::string Reply::summary(std::size_t max) const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  std::string t = text();
  if (!t.empty()) {
    out += ' ';
    append_printable(&out, t);
  }
  if (out.size() > max) {
    out.resize(max > 3 ? max - 3 : max);
    out += "...";
  }
  return out;
}

bool ReplyParser::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  return false;
}

// One line without its line end. Returns false on error.
bool ReplyParser::line(std::string_view l) {
  if (l.size() > kMaxReplyLine)
    return fail("reply line longer than " + std::to_string(kMaxReplyLine) + " bytes");
  for (char c : l)
    if (c == '\0' || c == '\r') return fail("NUL or bare CR in a reply line");
  // RFC 5321 4.2: three digits, then SP, "-" or the line end.
  if (l.size() < 3 || !digit(l[0]) || !digit(l[1]) || !digit(l[2]))
    return fail("reply line does not start with a three-digit code");
  if (l[0] < '2' || l[0] > '5' || l[1] > '5') return fail("reply code out of range");
  if (l.size() > 3 && l[3] != ' ' && l[3] != '-') return fail("reply code not followed by a blank or '-'");
  int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  if (!cur_.lines.empty() && code != cur_.code)
    return fail("reply code changes inside a multi-line reply");  // RFC 5321 4.2.1
  bytes_ += l.size() + 2;
  if (cur_.lines.size() >= kMaxReplyLines || bytes_ > kMaxReplyBytes) return fail("reply too long");
  if (cur_.lines.empty()) cur_.code = code;
  cur_.lines.emplace_back(l.size() > 4 ? l.substr(4) : std::string_view());
  bool last = l.size() == 3 || l[3] == ' ';
  if (last) {
    cur_.enhanced = enhanced_status(cur_.lines.front(), cur_.code);
    state_ = State::kReply;
  }
  return true;
}

std::size_t ReplyParser::feed(std::string_view data) {
  MB_CHECK(state_ != State::kReply, "ReplyParser::feed before take()");
  std::size_t used = 0;
  while (state_ == State::kNeedMore && used < data.size()) {
    std::string_view rest = data.substr(used);
    std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      // Keep the partial line, bounded (the line end counts: +2).
      if (partial_.size() + rest.size() > kMaxReplyLine + 1) {
        fail("reply line longer than " + std::to_string(kMaxReplyLine) + " bytes");
        return used;
      }
      partial_.append(rest);
      return data.size();
    }
    used += nl + 1;
    std::string_view piece = rest.substr(0, nl);
    std::string joined;
    if (!partial_.empty()) {
      if (partial_.size() + piece.size() > kMaxReplyLine + 1) {
        fail("reply line longer than " + std::to_string(kMaxReplyLine) + " bytes");
        return used;
      }
      joined = std::move(partial_);
      partial_.clear();
      joined.append(piece);
      piece = joined;
    }
    if (!piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
    if (!line(piece)) return used;
  }
  return used;
}

Reply ReplyParser::take() {
  MB_CHECK(state_ == State::kReply, "ReplyParser::take without a reply");
  Reply r = std::move(cur_);
  cur_ = Reply();
  bytes_ = 0;
  state_ = State::kNeedMore;
  return r;
}

}  // namespace common::smtp
