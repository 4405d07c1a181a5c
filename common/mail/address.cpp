// Strict RFC 5321 path parser (see address.hpp for the grammar and limits). UNTRUSTED:
// every byte here may come from the network; the parser never reads past `text` and
// never allocates more than the input size.
#include "common/mail/address.hpp"

#include <arpa/inet.h>

#include "common/mail/ascii.hpp"

namespace common::mail {
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 5322 3.2.3 atext.
bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~': return true;
    default: return false;
  }
}

// Length of a well-formed UTF-8 sequence starting at s[i], or 0 (RFC 3629 table).
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) -> unsigned char { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = s.size() - i;
  auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && cont(i + 1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = b(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

class Cursor {
 public:
  explicit Cursor(std::string_view t) : t_(t) {}
  bool done() const { return i_ >= t_.size(); }
  unsigned char peek() const { return done() ? 0 : static_cast<unsigned char>(t_[i_]); }
  std::size_t pos() const { return i_; }
  void advance(std::size_t n = 1) { i_ += n; }
  std::string_view text() const { return t_; }
  std::string_view slice(std::size_t from) const { return t_.substr(from, i_ - from); }

 private:
  std::string_view t_;
  std::size_t i_ = 0;
};

// Domain: sub-domain *("." sub-domain), or an address literal. Leaves the cursor after it.
Status scan_domain(Cursor& c, bool allow_utf8, std::string* out, bool* literal) {
  std::size_t start = c.pos();
  if (c.peek() == '[') {
    while (!c.done() && c.peek() != ']') c.advance();
    if (c.done()) return Status::error("unterminated address literal");
    c.advance();
    std::string_view lit = c.slice(start);
    if (!is_address_literal(lit)) return Status::error("bad address literal");
    *out = lower(lit);
    // Keep the "IPv6:" tag in its RFC spelling.
    if (out->size() > 6 && out->compare(1, 5, "ipv6:") == 0) out->replace(1, 5, "IPv6:");
    *literal = true;
    return Status::ok();
  }
  while (!c.done()) {
    unsigned char ch = c.peek();
    if (is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '.') {
      c.advance();
    } else if (ch >= 0x80 && allow_utf8) {
      std::size_t n = utf8_len(c.text(), c.pos());
      if (n == 0) return Status::error("malformed UTF-8 in domain");
      c.advance(n);
    } else {
      break;
    }
  }
  std::string_view d = c.slice(start);
  if (d.empty()) return Status::error("missing domain");
  if (!is_domain(d, allow_utf8)) return Status::error("bad domain syntax");
  *out = lower(d);
  *literal = false;
  return Status::ok();
}

Status scan_local(Cursor& c, bool allow_utf8, std::string* out) {
  out->clear();
  if (c.peek() == '"') {
    c.advance();
    for (;;) {
      if (c.done()) return Status::error("unterminated quoted local part");
      unsigned char ch = c.peek();
      if (ch == '"') {
        c.advance();
        break;
      }
      if (ch == '\\') {
        c.advance();
        unsigned char q = c.peek();
        if (c.done() || q < 32 || q > 126) return Status::error("bad quoted-pair");
        out->push_back(static_cast<char>(q));
        c.advance();
        continue;
      }
      if (ch >= 0x80) {
        std::size_t n = allow_utf8 ? utf8_len(c.text(), c.pos()) : 0;
        if (n == 0)
          return Status::error(allow_utf8 ? "malformed UTF-8 in local part"
                                          : "non-ASCII local part without SMTPUTF8");
        out->append(c.text().substr(c.pos(), n));
        c.advance(n);
        continue;
      }
      // RFC 5321 4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126
      if (ch < 32 || ch > 126) return Status::error("control character in quoted local part");
      out->push_back(static_cast<char>(ch));
      c.advance();
    }
    if (out->empty()) return Status::error("empty quoted local part");
    return Status::ok();
  }
  std::size_t start = c.pos();
  while (!c.done()) {
    unsigned char ch = c.peek();
    if (is_atext(ch) || ch == '.') {
      c.advance();
    } else if (ch >= 0x80) {
      std::size_t n = allow_utf8 ? utf8_len(c.text(), c.pos()) : 0;
      if (n == 0)
        return Status::error(allow_utf8 ? "malformed UTF-8 in local part"
                                        : "non-ASCII local part without SMTPUTF8");
      c.advance(n);
    } else {
      break;
    }
  }
  std::string_view l = c.slice(start);
  if (!is_dot_string(l, allow_utf8)) return Status::error("bad local part syntax");
  *out = std::string(l);
  return Status::ok();
}

Status scan_mailbox(Cursor& c, bool allow_utf8, Address* a) {
  MB_TRY(scan_local(c, allow_utf8, &a->local));
  if (c.peek() != '@') return Status::error("missing '@'");
  c.advance();
  MB_TRY(scan_domain(c, allow_utf8, &a->domain, &a->literal));
  if (a->local.size() > kMaxLocalPart) return Status::error("local part longer than 64 octets");
  if (a->domain.size() > kMaxDomain) return Status::error("domain longer than 255 octets");
  a->utf8 = has_non_ascii(a->local) || has_non_ascii(a->domain);
  return Status::ok();
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool is_dot_string(std::string_view l, bool allow_utf8) {
  if (l.empty() || l.front() == '.' || l.back() == '.') return false;
  bool prev_dot = false;
  for (std::size_t i = 0; i < l.size();) {
    unsigned char ch = static_cast<unsigned char>(l[i]);
    if (ch == '.') {
      if (prev_dot) return false;
      prev_dot = true;
      ++i;
      continue;
    }
    prev_dot = false;
    if (ch >= 0x80) {
      std::size_t n = allow_utf8 ? utf8_len(l, i) : 0;
      if (n == 0) return false;
      i += n;
      continue;
    }
    if (!is_atext(ch)) return false;
    ++i;
  }
  return true;
}

bool is_domain(std::string_view d, bool allow_utf8) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      std::string_view label = d.substr(label_start, i - label_start);
      // RFC 5321 4.1.2 sub-domain = Let-dig [Ldh-str]: no empty label (so no trailing
      // dot), no hyphen at either end, at most 63 octets (RFC 1035 2.3.4).
      if (label.empty() || label.size() > 63) return false;
      if (label.front() == '-' || label.back() == '-') return false;
      for (std::size_t k = 0; k < label.size();) {
        unsigned char ch = static_cast<unsigned char>(label[k]);
        if (ch >= 0x80) {
          std::size_t n = allow_utf8 ? utf8_len(label, k) : 0;
          if (n == 0) return false;
          k += n;
          continue;
        }
        if (!is_alpha(ch) && !is_digit(ch) && ch != '-') return false;
        ++k;
      }
      label_start = i + 1;
    }
  }
  return true;
}

bool is_address_literal(std::string_view lit) {
  if (lit.size() < 3 || lit.front() != '[' || lit.back() != ']') return false;
  std::string inner(lit.substr(1, lit.size() - 2));
  // inet_pton stops at a NUL; "[1.2.3.4\0junk]" must not pass as [1.2.3.4].
  if (inner.find('\0') != std::string::npos) return false;
  unsigned char buf[16];
  // RFC 5321 4.1.3 "IPv6:" is an ABNF string, so case-insensitive (RFC 5234 2.3).
  if (inner.size() > 5 && lower(std::string_view(inner).substr(0, 5)) == "ipv6:")
    return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  // inet_pton(AF_INET) accepts only the dotted-quad form RFC 5321 4.1.3 asks for.
  return inet_pton(AF_INET, inner.c_str(), buf) == 1;
}

std::string Address::str() const {
  if (null()) return "";
  std::string out;
  if (is_dot_string(local, true)) {
    out = local;
  } else {
    out = "\"";
    for (char c : local) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  if (!domain.empty()) out += "@" + domain;
  return out;
}

std::string Address::key() const {
  std::string k = lower(local);
  if (!domain.empty()) k += "@" + domain;
  return k;
}

Result<Address> parse_path(std::string_view text, const PathOptions& opt, std::size_t* consumed) {
  if (text.empty() || text.front() != '<') return Status::error("path must start with '<'");
  // The limit applies to the whole path including brackets (RFC 5321 4.5.3.1.3); look no
  // further than that for the closing bracket.
  Cursor c(text.substr(0, kMaxPath + 1));
  c.advance();
  Address a;
  if (c.peek() == '>') {
    if (!opt.allow_null) return Status::error("null path not allowed here");
    *consumed = 2;
    return a;
  }
  // Source route: A-d-l ":" -- parsed for syntax, then ignored (RFC 5321 C).
  if (c.peek() == '@') {
    for (;;) {
      if (c.peek() != '@') return Status::error("bad source route");
      c.advance();
      std::string d;
      bool lit = false;
      MB_TRY(scan_domain(c, opt.allow_utf8, &d, &lit));
      if (c.peek() == ',') {
        c.advance();
        continue;
      }
      if (c.peek() == ':') {
        c.advance();
        break;
      }
      return Status::error("bad source route");
    }
  }
  // "<Postmaster>" without a domain (RFC 5321 4.5.1), case-insensitive.
  if (opt.allow_postmaster) {
    std::string_view rest = c.text().substr(c.pos());
    if (rest.size() >= 11) {
      std::string head = lower(rest.substr(0, 11));
      if (head == "postmaster>") {
        a.local = "postmaster";
        *consumed = c.pos() + 11;
        return a;
      }
    }
  }
  MB_TRY(scan_mailbox(c, opt.allow_utf8, &a));
  if (c.peek() != '>') {
    if (c.pos() >= kMaxPath) return Status::error("path longer than 256 octets");
    return Status::error("expected '>' after address");
  }
  c.advance();
  if (c.pos() > kMaxPath) return Status::error("path longer than 256 octets");
  *consumed = c.pos();
  return a;
}

Result<Address> parse_mailbox(std::string_view text, bool allow_utf8) {
  // The mailbox must fit in a path, brackets included (RFC 5321 4.5.3.1.3).
  if (text.size() > kMaxPath - 2) return Status::error("address longer than 254 octets");
  Cursor c(text);
  Address a;
  MB_TRY(scan_mailbox(c, allow_utf8, &a));
  if (!c.done()) return Status::error("unexpected characters after address");
  return a;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

}  // namespace common::mail
