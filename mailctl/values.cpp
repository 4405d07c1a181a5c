// Parsing of administrator-typed values (see values.hpp).
#include "mailctl/values.hpp"

#include <algorithm>
#include <cstdio>

#include "common/config/config.hpp"
#include "common/mail/address.hpp"

namespace mailctl {

using common::Status;

namespace {

std::string trim(const std::string& s) {
  std::size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  std::size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

common::Result<std::vector<std::pair<std::string, std::string>>> parse_settings(
    const std::vector<std::string>& args, const std::vector<std::string>& allowed) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) return Status::error("'" + a + "' is not KEY=VALUE");
    std::string key = a.substr(0, eq);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
      return Status::error("unknown setting '" + key + "' (known: " + list + ")");
    }
    for (const auto& [k, v] : out)
      if (k == key) return Status::error("'" + key + "' given twice");
    out.emplace_back(key, a.substr(eq + 1));
  }
  return out;
}

common::Result<std::int64_t> parse_limit_size(const std::string& v) {
  if (v == "none" || v == "unlimited" || v == "0") return std::int64_t{0};
  auto n = common::config::parse_size(v);
  if (!n) return Status::error("'" + v + "' is not a size (digits with K, M or G, or none)");
  if (*n <= 0 || *n > (std::int64_t{1} << 50)) return Status::error("size '" + v + "' out of range");
  return *n;
}

common::Result<std::int64_t> parse_limit_count(const std::string& v, std::int64_t max) {
  if (v == "none" || v == "0") return std::int64_t{0};
  if (!all_digits(v) || v.size() > 9) return Status::error("'" + v + "' is not a number (or none)");
  std::int64_t n = std::stoll(v);
  if (n < 1 || n > max) return Status::error("'" + v + "' out of range 1.." + std::to_string(max));
  return n;
}

common::Result<bool> parse_yes_no(const std::string& v) {
  if (v == "yes" || v == "on" || v == "true") return true;
  if (v == "no" || v == "off" || v == "false") return false;
  return Status::error("'" + v + "' is not yes or no");
}

common::Result<std::vector<std::string>> parse_address_list(const std::string& v) {
  std::vector<std::string> out;
  if (trim(v).empty() || trim(v) == "none") return out;
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t comma = v.find(',', pos);
    std::string item = trim(v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    pos = comma == std::string::npos ? v.size() + 1 : comma + 1;
    if (item.empty()) return Status::error("empty address in '" + v + "'");
    auto a = common::mail::parse_mailbox(item, false);
    if (!a || a->domain.empty()) return Status::error("'" + item + "' is not a mail address (local@domain)");
    std::string s = a->str();
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

common::Result<std::int64_t> parse_date(const std::string& v, bool end_of_day) {
  if (v.empty() || v == "none") return std::int64_t{0};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  char sep = 0, extra = 0;
  bool with_time = false;
  if (std::sscanf(v.c_str(), "%4d-%2d-%2d%c%2d:%2d%c", &y, &mo, &d, &sep, &h, &mi, &extra) == 6 &&
      (sep == ' ' || sep == 'T')) {
    with_time = true;
  } else if (std::sscanf(v.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &extra) != 3) {
    return Status::error("'" + v + "' is not a date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM')");
  }
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
    return Status::error("'" + v + "' is not a valid date");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = with_time ? h : (end_of_day ? 23 : 0);
  tm.tm_min = with_time ? mi : (end_of_day ? 59 : 0);
  tm.tm_sec = !with_time && end_of_day ? 59 : 0;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == -1 || tm.tm_mday != d) return Status::error("'" + v + "' is not a valid date");
  return static_cast<std::int64_t>(t);
}

std::string format_date(std::int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string format_size(std::int64_t bytes) {
  if (bytes == 0) return "none";
  char buf[96];
  if (bytes >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB (%lld bytes)", static_cast<double>(bytes) / (1 << 20),
                  static_cast<long long>(bytes));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB (%lld bytes)", static_cast<double>(bytes) / 1024,
                  static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  return buf;
}

std::string join_list(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace mailctl
