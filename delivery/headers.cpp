// The header block parser (see headers.hpp). UNTRUSTED input; bounded by kMaxHeaderBlock.
#include "delivery/headers.hpp"

#include "common/io/fdio.hpp"
#include "common/mail/ascii.hpp"

namespace delivery {

using common::mail::lower;

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (blank(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (blank(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// RFC 5322 3.6.8: ftext is printable ASCII except ':'.
bool field_name_char(char c) { return c >= 33 && c <= 126 && c != ':'; }

}  // namespace

std::vector<std::string_view> Headers::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields)
    if (f.name == name) out.push_back(f.value);
  return out;
}

std::string_view Headers::first(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return f.value;
  return {};
}

bool Headers::has(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return true;
  return false;
}

std::size_t Headers::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& f : fields)
    if (f.name == name) ++n;
  return n;
}

Headers parse_headers(std::string_view data, bool complete) {
  Headers h;
  std::string raw;  // the current field's value, folded lines joined
  bool in_field = false;
  auto finish = [&] {
    if (in_field) h.fields.back().value = std::string(trim(raw));
    in_field = false;
    raw.clear();
  };
  std::size_t pos = 0;
  while (true) {
    if (pos >= data.size()) {
      // Out of bytes: the end of the message, or of what was read.
      if (!complete) h.truncated = true;
      break;
    }
    std::size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) {
      // A last line without LF: complete only if this is the whole message.
      if (!complete) {
        h.truncated = true;
        break;
      }
      nl = data.size();
    }
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (blank(line.front())) {
      // RFC 5322 2.2.3: unfolding removes the line break before the blank.
      if (in_field) raw.append(line);
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) break;  // not a header field: the body starts
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && blank(name.back())) name.remove_suffix(1);  // obs-FWS before ':'
    bool ok = !name.empty();
    for (char c : name) ok = ok && field_name_char(c);
    if (!ok) break;
    finish();
    HeaderField f;
    for (char c : name) f.name.push_back(lower(c));
    h.fields.push_back(std::move(f));
    in_field = true;
    raw.assign(line.substr(colon + 1));
  }
  finish();
  return h;
}

common::Result<Headers> read_headers(const MessageRef& m) {
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(m.size, kMaxHeaderBlock));
  std::string buf;
  MB_TRY(common::io::pread_upto(m.fd, &buf, want, static_cast<off_t>(m.offset)));
  if (buf.size() < want) return common::Status::error("queue file shorter than the message", EIO);
  return parse_headers(buf, m.size <= kMaxHeaderBlock);
}

std::vector<std::string> header_addresses(std::string_view value) {
  std::vector<std::string> out;
  std::string piece;  // the current address text outside comments
  std::string angle;  // inside <...>
  bool have_angle = false, in_angle = false, in_quote = false;
  int comment = 0;
  auto flush = [&] {
    std::string a(trim(have_angle ? std::string_view(angle) : std::string_view(piece)));
    // A source route inside <...> ("@a,@b:x@y") is ignored (RFC 5322 4.4 obs-route).
    if (have_angle) {
      auto colon = a.rfind(':');
      if (colon != std::string::npos && !a.empty() && a[0] == '@') a.erase(0, colon + 1);
    }
    if (a.find('@') != std::string::npos && a.find_first_of(" \t") == std::string::npos) out.push_back(a);
    piece.clear();
    angle.clear();
    have_angle = false;
  };
  for (std::size_t i = 0; i < value.size() && out.size() < 1000; ++i) {
    char c = value[i];
    if (in_quote) {
      (in_angle ? angle : piece).push_back(c);
      if (c == '\\' && i + 1 < value.size()) {
        (in_angle ? angle : piece).push_back(value[++i]);
      } else if (c == '"') {
        in_quote = false;
      }
      continue;
    }
    if (comment > 0) {
      if (c == '\\')
        ++i;
      else if (c == '(')
        ++comment;
      else if (c == ')')
        --comment;
      continue;
    }
    switch (c) {
      case '(': ++comment; break;
      case '"':
        in_quote = true;
        (in_angle ? angle : piece).push_back(c);
        break;
      case '<':
        in_angle = true;
        have_angle = true;
        angle.clear();
        break;
      case '>': in_angle = false; break;
      case ',':
      case ';':
        if (in_angle)
          angle.push_back(c);
        else
          flush();
        break;
      case ':':
        // A group's display name ends here ("team: a@b, c@d;").
        if (in_angle)
          angle.push_back(c);
        else
          piece.clear();
        break;
      default: (in_angle ? angle : piece).push_back(c);
    }
  }
  flush();
  return out;
}

std::vector<std::string> msg_ids(std::string_view value) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (out.size() < 1000) {
    std::size_t a = value.find('<', pos);
    if (a == std::string_view::npos) break;
    std::size_t b = value.find_first_of("<>", a + 1);
    if (b == std::string_view::npos) break;
    if (value[b] == '<') {  // an unclosed '<': start again at the next one
      pos = b;
      continue;
    }
    std::string_view id = value.substr(a, b - a + 1);
    bool ok = id.size() > 2;
    for (std::size_t i = 1; ok && i + 1 < id.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(id[i]);
      ok = c > 0x20 && c != 0x7f && c != '<';
    }
    if (ok) out.emplace_back(id);
    pos = b + 1;
  }
  return out;
}

std::string first_msg_id(std::string_view value) {
  auto ids = msg_ids(value);
  return ids.empty() ? std::string() : ids.front();
}

}  // namespace delivery
