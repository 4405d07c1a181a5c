// Implementation of the TLS session records and the day's counts (see record.hpp).
#include "common/tlsrpt/record.hpp"

#include <charconv>
#include <ctime>

namespace common::tlsrpt {

namespace {

constexpr const char* kResultTypes[] = {
    kStartTlsNotSupported, kCertificateHostMismatch,
    kCertificateExpired,   kCertificateNotTrusted,
    kValidationFailure,    kTlsaInvalid,
    kDnssecInvalid,        kDaneRequired,
    kStsPolicyFetchError,  kStsPolicyInvalid,
    kStsWebpkiInvalid,
};

bool needs_escape(unsigned char c) { return c <= 0x20 || c >= 0x7f || c == '%' || c == '|'; }

std::string encode(std::string_view s) {
  if (s.empty()) return "-";
  if (s == "-") return "%2D";
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (needs_escape(c)) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<std::string> decode(std::string_view s) {
  if (s == "-") return std::string();
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size()) return Status::error("truncated %-escape");
      int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
      if (h < 0 || l < 0) return Status::error("bad %-escape");
      out += static_cast<char>(h * 16 + l);
      i += 2;
      continue;
    }
    if (needs_escape(c)) return Status::error("unescaped special character");
    out += static_cast<char>(c);
  }
  return out;
}

std::string encode_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (i.empty()) continue;
    if (!out.empty()) out += '|';
    out += encode(i);
  }
  return out.empty() ? "-" : out;
}

Result<std::vector<std::string>> decode_list(std::string_view s) {
  std::vector<std::string> out;
  if (s == "-") return out;
  while (true) {
    auto bar = s.find('|');
    auto d = decode(s.substr(0, bar));
    if (!d) return d.status();
    if (d->empty()) return Status::error("empty list item");
    if (out.size() >= kMaxItems) return Status::error("too many list items");
    out.push_back(std::move(*d));
    if (bar == std::string_view::npos) break;
    s.remove_prefix(bar + 1);
  }
  return out;
}

bool is_lower_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  for (unsigned char c : d)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

}  // namespace

const char* policy_type_name(PolicyType t) {
  switch (t) {
    case PolicyType::kSts: return "sts";
    case PolicyType::kTlsa: return "tlsa";
    case PolicyType::kNoPolicy: break;
  }
  return "no-policy-found";
}

bool is_result_type(std::string_view s) {
  for (const char* r : kResultTypes)
    if (s == r) return true;
  return false;
}

std::string format_session(const Session& s) {
  std::string out = "S1 " + std::to_string(s.time) + " " + policy_type_name(s.policy.type) + " " +
                    encode(s.policy.domain) + " " + encode(s.result) + " " + encode(s.mx) + " " +
                    encode(s.ip) + " " + encode_list(s.policy.strings) + " " + encode_list(s.policy.mx) +
                    "\n";
  return out;
}

Result<Session> parse_session(std::string_view line) {
  if (line.size() > kMaxLine) return Status::error("line too long");
  std::vector<std::string_view> f;
  while (!line.empty()) {
    auto sp = line.find(' ');
    f.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
    if (line.empty()) return Status::error("trailing space");
  }
  if (f.size() != 9) return Status::error("expected 9 fields");
  if (f[0] != "S1") return Status::error("unknown record kind");
  for (auto x : f)
    if (x.empty()) return Status::error("empty field");
  Session s;
  auto [p, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), s.time);
  if (ec != std::errc() || p != f[1].data() + f[1].size() || s.time < 0) return Status::error("bad time");
  if (f[2] == "sts")
    s.policy.type = PolicyType::kSts;
  else if (f[2] == "tlsa")
    s.policy.type = PolicyType::kTlsa;
  else if (f[2] == "no-policy-found")
    s.policy.type = PolicyType::kNoPolicy;
  else
    return Status::error("unknown policy type");
  auto domain = decode(f[3]);
  if (!domain || !is_lower_domain(*domain)) return Status::error("bad policy domain");
  s.policy.domain = std::move(*domain);
  auto result = decode(f[4]);
  if (!result || (!result->empty() && !is_result_type(*result))) return Status::error("bad result type");
  s.result = std::move(*result);
  auto mx = decode(f[5]);
  auto ip = decode(f[6]);
  if (!mx || !ip || mx->size() > 255 || ip->size() > 64) return Status::error("bad mx or ip");
  s.mx = std::move(*mx);
  s.ip = std::move(*ip);
  auto strings = decode_list(f[7]);
  if (!strings) return Status::error("bad policy strings: " + strings.message());
  auto patterns = decode_list(f[8]);
  if (!patterns) return Status::error("bad mx patterns: " + patterns.message());
  s.policy.strings = std::move(*strings);
  s.policy.mx = std::move(*patterns);
  return s;
}

std::size_t add_day_file(std::string_view file, DayCounts* counts) {
  std::size_t skipped = 0;
  while (!file.empty()) {
    auto nl = file.find('\n');
    if (nl == std::string_view::npos) {
      ++skipped;  // torn: the writer did not finish it
      break;
    }
    auto s = parse_session(file.substr(0, nl));
    file.remove_prefix(nl + 1);
    if (!s) {
      ++skipped;
      continue;
    }
    PolicyCounts& c = (*counts)[s->policy.domain][s->policy];
    if (s->result.empty()) {
      ++c.successes;
    } else {
      ++c.failures;
      ++c.details[FailureKey{s->result, s->mx, s->ip}];
    }
  }
  return skipped;
}

std::string day_of(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::int64_t day_start(std::string_view day) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return -1;
  int y = 0, m = 0, d = 0;
  auto num = [&](std::size_t at, std::size_t n, int* out) {
    auto [p, ec] = std::from_chars(day.data() + at, day.data() + at + n, *out);
    return ec == std::errc() && p == day.data() + at + n;
  };
  if (!num(0, 4, &y) || !num(5, 2, &m) || !num(8, 2, &d)) return -1;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  std::int64_t t = static_cast<std::int64_t>(timegm(&tm));
  if (day_of(t) != day) return -1;  // 2026-02-31 and the like
  return t;
}

}  // namespace common::tlsrpt
