// Implementation of the TLSRPT policy record parser (see txt.hpp).
#include "common/tlsrpt/txt.hpp"

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace common::tlsrpt {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return Status::error("truncated %-escape");
    int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
    if (h < 0 || l < 0) return Status::error("bad %-escape");
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return out;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && common::mail::lower(s.substr(0, prefix.size())) == prefix;
}

// RFC 8460 3: tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
bool is_ext_name(std::string_view n) {
  if (n.empty() || n.size() > 32) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.'))) return false;
  }
  return true;
}

// tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): no blank, ';' or '='.
bool is_ext_value(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c < 0x21 || c > 0x7e || c == ';' || c == '=') return false;
  return true;
}

Status add_uri(std::string_view uri, RuaRecord* r) {
  if (uri.empty()) return Status::error("empty URI in rua");
  for (unsigned char c : uri)
    if (c <= 0x20 || c >= 0x7f) return Status::error("blank or non-ASCII character in a rua URI");
  if (starts_with_nocase(uri, "mailto:")) {
    std::string_view addr = uri.substr(7);
    addr = addr.substr(0, addr.find('?'));  // RFC 6068 2: hfields are not ours to follow
    auto dec = percent_decode(addr);
    if (!dec) return Status::error("rua mailto: " + dec.message());
    if (dec->find(',') != std::string::npos) return Status::error("rua mailto: one address per URI");
    auto a = common::mail::parse_mailbox(*dec, false);
    if (!a) return Status::error("rua mailto: bad address: " + a.message());
    if (r->mailto.size() + r->https.size() < kMaxRua) r->mailto.push_back(a->str());
    return Status::ok();
  }
  if (starts_with_nocase(uri, "https://")) {
    if (uri.size() <= 8) return Status::error("rua https: no host");
    if (r->mailto.size() + r->https.size() < kMaxRua) r->https.emplace_back(uri);
    return Status::ok();
  }
  return Status::ok();  // another scheme: not one we can use
}

}  // namespace

Result<RuaRecord> parse_tlsrpt_record(std::string_view record) {
  constexpr std::string_view kVersion = "v=TLSRPTv1";
  if (record.substr(0, kVersion.size()) != kVersion) return Status::error("does not start with v=TLSRPTv1");
  std::string_view rest = record.substr(kVersion.size());
  RuaRecord r;
  bool have_rua = false;
  bool first = true;
  while (!rest.empty()) {
    // field-delim = *WSP ";" *WSP, then a field; a final delimiter is allowed.
    std::string_view t = trim(rest);
    if (t.empty()) break;
    if (t.front() != ';') return Status::error(first ? "no ';' after the version" : "expected ';'");
    first = false;
    t.remove_prefix(1);
    auto semi = t.find(';');
    std::string_view field = trim(t.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : t.substr(semi);
    if (field.empty()) {
      if (rest.empty()) break;  // the optional trailing delimiter
      return Status::error("empty field");
    }
    auto eq = field.find('=');
    if (eq == std::string_view::npos) return Status::error("field without '='");
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (name == "rua") {
      if (have_rua) return Status::error("more than one rua field");
      have_rua = true;
      while (true) {
        auto comma = value.find(',');
        MB_TRY(add_uri(trim(value.substr(0, comma)), &r));
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
      }
    } else if (!is_ext_name(name) || !is_ext_value(value)) {
      return Status::error("malformed field");
    }
  }
  if (!have_rua) return Status::error("no rua field");
  return r;
}

Result<RuaRecord> parse_tlsrpt_txt(const std::vector<std::string>& records) {
  const std::string* found = nullptr;
  for (const auto& rec : records) {
    // RFC 8460 3: other records at the name are discarded ("v=TLSRPTv1;" or the bare
    // version followed by blanks both count as the start of one).
    if (rec.rfind("v=TLSRPTv1", 0) != 0) continue;
    std::string_view after = std::string_view(rec).substr(10);
    if (!after.empty() && after.front() != ';' && !is_wsp(after.front())) continue;
    if (found) return Status::error("more than one v=TLSRPTv1 record");
    found = &rec;
  }
  if (!found) return Status::error("no v=TLSRPTv1 record");
  return parse_tlsrpt_record(*found);
}

}  // namespace common::tlsrpt
