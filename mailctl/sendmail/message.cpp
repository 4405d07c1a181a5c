// sendmail's message handling (see message.hpp). UNTRUSTED: text and addresses from the
// calling user; every loop is bounded by the input, nothing indexes past it.
#include "mailctl/sendmail/message.hpp"

#include "common/mail/ascii.hpp"
#include "common/mail/base64.hpp"
#include "common/mail/date.hpp"

namespace sendmail {

using common::mail::iequals;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 2.2: field-name = 1*ftext, ftext = %d33-57 / %d59-126. Returns the name's
// length when `line` starts a field ("Name:"), else 0.
std::size_t field_name_length(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != ':') {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c < 33 || c > 126) return 0;
    ++i;
  }
  return i < line.size() && i > 0 ? i : 0;
}

// RFC 5322 3.2.3 atext.
bool is_atext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char s : std::string_view("!#$%&'*+-/=?^_`{|}~"))
    if (c == static_cast<unsigned char>(s)) return true;
  return false;
}

bool has_at_outside_quotes(std::string_view a) {
  bool q = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (q && a[i] == '\\') {
      ++i;
      continue;
    }
    if (a[i] == '"') q = !q;
    if (!q && a[i] == '@') return true;
  }
  return false;
}

// One mailbox of a list: the text inside <...> if any, else the addr-spec as written.
struct Piece {
  std::string angle;
  bool has_angle = false;
  std::string bare;
};

common::Status add_piece(const Piece& p, const std::string& default_domain,
                         std::vector<common::mail::Address>* out) {
  std::string addr;
  if (p.has_angle) {
    addr = p.angle;
    // RFC 5322 4.4 obs-route: "<@a,@b:user@c>" is user@c.
    if (!addr.empty() && addr[0] == '@') {
      auto colon = addr.find(':');
      if (colon == std::string::npos) return common::Status::error("bad address <" + addr + ">");
      addr = addr.substr(colon + 1);
    }
  } else {
    // White space around "." and "@" is allowed (RFC 5322 obs-local-part, obs-domain);
    // between two words it is not an address. Inside quotes it is kept.
    bool quoted = false, space = false;
    for (std::size_t i = 0; i < p.bare.size(); ++i) {
      char c = p.bare[i];
      if (!quoted && is_space(c)) {
        space = !addr.empty();
        continue;
      }
      if (space && addr.back() != '.' && addr.back() != '@' && c != '.' && c != '@')
        return common::Status::error("bad address '" + p.bare + "'");
      space = false;
      if (quoted && c == '\\' && i + 1 < p.bare.size()) {
        addr.push_back(c);
        c = p.bare[++i];
      } else if (c == '"') {
        quoted = !quoted;
      }
      addr.push_back(c);
    }
  }
  if (addr.empty()) {
    if (p.has_angle) return common::Status::error("empty address <>");
    return common::Status::ok();  // a stray comma, an empty group
  }
  if (!has_at_outside_quotes(addr)) addr += "@" + default_domain;
  auto a = common::mail::parse_mailbox(addr, true);
  if (!a) return common::Status::error("bad address '" + addr + "': " + a.message());
  out->push_back(std::move(*a));
  return common::Status::ok();
}

std::string encode_word(std::string_view utf8) {
  // RFC 2047 2: an encoded-word is at most 75 characters; 45 octets of text encode to 60
  // base64 characters, plus "=?UTF-8?B?" and "?=". Pieces end on UTF-8 boundaries.
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t n = std::min<std::size_t>(45, utf8.size() - i);
    while (i + n < utf8.size() && n > 0 && (static_cast<unsigned char>(utf8[i + n]) & 0xc0) == 0x80) --n;
    if (n == 0) n = std::min<std::size_t>(45, utf8.size() - i);
    std::string b64 = common::mail::encode_base64(utf8.substr(i, n));
    if (!out.empty()) out += " ";
    out += "=?UTF-8?B?" + b64 + "?=";
    i += n;
  }
  return out;
}

}  // namespace

bool MessageReader::feed(std::string_view data) {
  if (ended_ || too_big_) return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\0') nul_ = true;
    if (data[i] != '\n') continue;
    partial_.append(data.substr(start, i - start));
    start = i + 1;
    line(partial_);
    partial_.clear();
    if (ended_ || too_big_) return false;
  }
  partial_.append(data.substr(start));
  if (text_.size() + partial_.size() > limit_) too_big_ = true;
  return !too_big_;
}

void MessageReader::finish() {
  if (!ended_ && !too_big_ && !partial_.empty()) line(partial_);
  partial_.clear();
}

void MessageReader::line(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);  // CRLF -> LF
  // sendmail(8): without -i (-oi), a line with a single "." ends the message.
  if (!ignore_dots_ && l == ".") {
    ended_ = true;
    return;
  }
  if (text_.size() + l.size() + 1 > limit_) {
    too_big_ = true;
    return;
  }
  text_.append(l);
  text_.push_back('\n');
}

std::string Header::value() const {
  std::string v = text.substr(name.size() + 1);
  std::string out;
  for (char c : v)
    if (c != '\n' && c != '\r') out.push_back(c);
  std::size_t b = 0;
  while (b < out.size() && is_space(out[b])) ++b;
  return out.substr(b);
}

const Header* Message::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

Message split_message(std::string_view text) {
  Message m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    std::string_view bare = line;
    if (!bare.empty() && bare.back() == '\n') bare.remove_suffix(1);
    if (bare.empty()) {  // the blank line: the body follows it
      pos = end;
      break;
    }
    if (is_space(bare[0]) && !m.headers.empty()) {
      m.headers.back().text.append(line);
    } else if (std::size_t n = field_name_length(bare)) {
      m.headers.push_back(Header{std::string(bare.substr(0, n)), std::string(line)});
    } else {
      break;  // not a header: the body starts here
    }
    if (!m.headers.back().text.empty() && m.headers.back().text.back() != '\n')
      m.headers.back().text.push_back('\n');
    pos = end;
  }
  m.body = std::string(text.substr(pos));
  return m;
}

common::Result<std::vector<common::mail::Address>> parse_address_list(std::string_view list,
                                                                      const std::string& default_domain) {
  std::vector<common::mail::Address> out;
  Piece p;
  bool in_angle = false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    char c = list[i];
    std::string& target = in_angle ? p.angle : p.bare;
    if (c == '"') {  // a quoted string: copied with its quotes (it may be a local part)
      std::size_t j = i + 1;
      std::string q = "\"";
      while (j < list.size() && list[j] != '"') {
        if (list[j] == '\\' && j + 1 < list.size()) q.push_back(list[j++]);
        q.push_back(list[j++]);
      }
      if (j >= list.size()) return common::Status::error("unterminated quoted string in address list");
      q.push_back('"');
      target += q;
      i = j;
    } else if (c == '(' && !in_angle) {  // a comment (RFC 5322 3.2.2), nested
      int depth = 1;
      std::size_t j = i + 1;
      for (; j < list.size() && depth > 0; ++j) {
        if (list[j] == '\\')
          ++j;
        else if (list[j] == '(')
          ++depth;
        else if (list[j] == ')')
          --depth;
      }
      if (depth > 0) return common::Status::error("unterminated comment in address list");
      i = j - 1;
      p.bare.push_back(' ');
    } else if (c == '<' && !in_angle) {
      in_angle = true;
      p.has_angle = true;
      p.angle.clear();
      p.bare.clear();  // what came before was the display name
    } else if (c == '>' && in_angle) {
      in_angle = false;
    } else if (in_angle) {
      p.angle.push_back(c);
    } else if (c == ':') {  // a group's display name: drop it, the members follow
      p = Piece{};
    } else if (c == ',' || c == ';') {
      MB_TRY(add_piece(p, default_domain, &out));
      p = Piece{};
    } else {
      p.bare.push_back(c);
    }
    if (out.size() > 1000) return common::Status::error("too many addresses");
  }
  if (in_angle) return common::Status::error("unterminated <address> in address list");
  MB_TRY(add_piece(p, default_domain, &out));
  return out;
}

std::string display_name(std::string_view name) {
  std::string clean;
  bool ascii = true;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) continue;
    if (c >= 0x80) ascii = false;
    clean.push_back(static_cast<char>(c));
  }
  std::size_t b = clean.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  clean = clean.substr(b, clean.find_last_not_of(' ') - b + 1);
  if (!ascii) {
    if (!common::mail::is_valid_utf8(clean)) return "";
    return encode_word(clean);
  }
  bool atoms = true;
  for (unsigned char c : clean)
    if (c != ' ' && !is_atext(c)) atoms = false;
  if (atoms) return clean;
  std::string q = "\"";
  for (char c : clean) {
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  return q + "\"";
}

std::string compose(const Message& m, const Compose& c) {
  std::string date = common::mail::rfc5322_date(c.time);
  // RFC 5321 4.4 trace field; RFC 5322 3.6.7 allows "by" without "from".
  std::string out = "Received: by " + c.hostname + " (Mailbag, from userid " + std::to_string(c.uid) +
                    ")\n\tid " + c.queue_id + "; " + date + "\n";
  for (const auto& h : m.headers) {
    // RFC 5322 3.6.3: the blind copies' addresses must not reach the recipients.
    if (iequals(h.name, "Bcc") || iequals(h.name, "Resent-Bcc")) continue;
    out += h.text;
  }
  if (!m.find("From")) {
    std::string name = display_name(c.full_name);
    out += "From: " + (name.empty() ? c.from : name + " <" + c.from + ">") + "\n";
  }
  if (!m.find("Date")) out += "Date: " + date + "\n";
  if (!m.find("Message-ID")) out += "Message-ID: <" + c.queue_id + "@" + c.hostname + ">\n";
  out += "\n";
  out += m.body;
  return out;
}

}  // namespace sendmail
