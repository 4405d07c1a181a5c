// DSN request parameters (see dsn.hpp for the grammar and its RFC sections).
// UNTRUSTED: parameter values from SMTP clients, and queue file records.
#include "common/mail/dsn.hpp"

#include "common/mail/ascii.hpp"

namespace common::mail {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // RFC 3461 4: upper-case hex only
}

bool is_atom_char(char c) {
  // RFC 5322 3.2.3 atext
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char s : std::string_view("!#$%&'*+-/=?^_`{|}~"))
    if (c == s) return true;
  return false;
}

}  // namespace

std::optional<std::string> xtext_decode(std::string_view x) {
  std::string out;
  out.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    char c = x[i];
    if (c == '+') {
      if (x.size() - i < 3) return std::nullopt;
      int hi = hex_value(x[i + 1]), lo = hex_value(x[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char d = static_cast<char>(hi * 16 + lo);
      if (d < 0x20 || d > 0x7e) return std::nullopt;
      out.push_back(d);
      i += 2;
      continue;
    }
    if (c < '!' || c > '~' || c == '=') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string xtext_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= '!' && u <= '~' && c != '+' && c != '=') {
      out.push_back(c);
    } else {
      out.push_back('+');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::optional<std::uint8_t> parse_notify(std::string_view v) {
  std::uint8_t bits = 0;
  while (true) {
    auto comma = v.find(',');
    std::string_view word = v.substr(0, comma);
    std::uint8_t bit = 0;
    if (iequals(word, "NEVER"))
      bit = kNotifyNever;
    else if (iequals(word, "SUCCESS"))
      bit = kNotifySuccess;
    else if (iequals(word, "FAILURE"))
      bit = kNotifyFailure;
    else if (iequals(word, "DELAY"))
      bit = kNotifyDelay;
    else
      return std::nullopt;
    if (bits & bit) return std::nullopt;
    bits |= bit;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  // RFC 3461 4.1: "NEVER" must not appear with any other keyword.
  if ((bits & kNotifyNever) && bits != kNotifyNever) return std::nullopt;
  return bits;
}

std::string notify_text(std::uint8_t bits) {
  if (bits & kNotifyNever) return "NEVER";
  std::string out;
  for (auto [bit, name] : {std::pair{kNotifySuccess, "SUCCESS"}, std::pair{kNotifyFailure, "FAILURE"},
                           std::pair{kNotifyDelay, "DELAY"}}) {
    if (!(bits & bit)) continue;
    if (!out.empty()) out.push_back(',');
    out += name;
  }
  return out;
}

std::optional<std::string> parse_orcpt(std::string_view v) {
  if (v.size() > kMaxOrcpt) return std::nullopt;
  auto semi = v.find(';');
  if (semi == std::string_view::npos || semi == 0) return std::nullopt;
  for (char c : v.substr(0, semi))
    if (!is_atom_char(c)) return std::nullopt;
  auto addr = xtext_decode(v.substr(semi + 1));
  if (!addr || addr->empty()) return std::nullopt;
  return std::string(v.substr(0, semi)) + ";" + *addr;
}

std::optional<DsnRet> parse_ret(std::string_view v) {
  if (iequals(v, "FULL")) return DsnRet::kFull;
  if (iequals(v, "HDRS")) return DsnRet::kHdrs;
  return std::nullopt;
}

const char* ret_text(DsnRet r) {
  switch (r) {
    case DsnRet::kFull: return "FULL";
    case DsnRet::kHdrs: return "HDRS";
    case DsnRet::kUnspecified: break;
  }
  return "";
}

std::optional<std::string> parse_envid(std::string_view v) {
  if (v.empty() || v.size() > kMaxEnvid) return std::nullopt;
  return xtext_decode(v);
}

}  // namespace common::mail
