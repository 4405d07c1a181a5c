// Implementation of the MTA-STS parsers (see mta_sts_policy.hpp).
#include "delivery/remote/mta_sts_policy.hpp"

#include "common/dns/records.hpp"
#include "common/mail/ascii.hpp"

namespace delivery::remote {

using common::Result;
using common::Status;

namespace {

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower_host(std::string_view h) {
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  return common::mail::lower(std::string(h));
}

// RFC 8461 3.2 sts-policy-mx-value: ["*."] Domain.
bool valid_mx_pattern(std::string_view p) {
  if (!p.empty() && p.back() == '.') p.remove_suffix(1);  // a fully qualified name
  if (p.size() > 2 && p.substr(0, 2) == "*.") p.remove_prefix(2);
  return common::dns::is_host_name(p);
}

}  // namespace

const char* sts_mode_name(StsMode m) {
  switch (m) {
    case StsMode::kNone: return "none";
    case StsMode::kTesting: return "testing";
    case StsMode::kEnforce: return "enforce";
  }
  return "?";
}

Result<std::string> parse_sts_txt(const std::vector<std::string>& records) {
  const std::string* found = nullptr;
  for (const auto& r : records) {
    // RFC 8461 3.1: "v=STSv1" comes first; records that do not start so are not ours.
    if (r.compare(0, 7, "v=STSv1") != 0) continue;
    if (found) return Status::error("more than one v=STSv1 TXT record");
    found = &r;
  }
  if (!found) return Status::error("no v=STSv1 TXT record");
  std::string_view rest(*found);
  std::string id;
  bool first = true;
  while (!rest.empty()) {
    std::size_t semi = rest.find(';');
    std::string_view field = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (field.empty()) {
      if (first) return Status::error("empty version field");
      continue;  // "; ;" or a trailing ";"
    }
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return Status::error("field without '=': " + std::string(field));
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (first) {
      if (key != "v" || value != "STSv1") return Status::error("the record does not start with v=STSv1");
      first = false;
      continue;
    }
    if (value.empty()) return Status::error("empty value for " + std::string(key));
    if (key == "id") {
      if (!id.empty()) return Status::error("more than one id");
      if (value.size() > 32) return Status::error("id longer than 32 characters");
      for (char c : value)
        if (!is_alnum(c)) return Status::error("id with a character other than a letter or digit");
      id = std::string(value);
    }
    // Other (extension) fields are ignored.
  }
  if (id.empty()) return Status::error("no id field");
  return id;
}

Result<StsPolicy> parse_sts_policy(std::string_view text) {
  if (text.size() > kStsMaxPolicy) return Status::error("policy larger than 64 KB");
  StsPolicy p;
  bool have_version = false, have_mode = false, have_age = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    if (line.empty()) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return Status::error("line without 'key:': " + std::string(line.substr(0, 60)));
    std::string_view key = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    for (unsigned char c : line)
      if (c < 0x20 && c != '\t') return Status::error("control character in the policy");
    // The first of each field counts (mx excepted: it may repeat).
    if (key == "version") {
      if (have_version) continue;
      if (value != "STSv1") return Status::error("version is not STSv1");
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) continue;
      if (value == "enforce")
        p.mode = StsMode::kEnforce;
      else if (value == "testing")
        p.mode = StsMode::kTesting;
      else if (value == "none")
        p.mode = StsMode::kNone;
      else
        return Status::error("unknown mode: " + std::string(value.substr(0, 40)));
      have_mode = true;
    } else if (key == "max_age") {
      if (have_age) continue;
      // 1*10DIGIT; anything beyond the RFC's maximum is held to it.
      if (value.empty() || value.size() > 10) return Status::error("max_age is not 1 to 10 digits");
      std::int64_t v = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return Status::error("max_age is not a number");
        v = v * 10 + (c - '0');
      }
      p.max_age = v > kStsMaxAge ? kStsMaxAge : v;
      have_age = true;
    } else if (key == "mx") {
      if (!valid_mx_pattern(value))
        return Status::error("bad mx pattern: " + std::string(value.substr(0, 80)));
      if (p.mx.size() >= kStsMaxMx) return Status::error("more than 64 mx patterns");
      p.mx.push_back(lower_host(value));
    }
    // Unknown keys are ignored (RFC 8461 3.2).
  }
  if (!have_version) return Status::error("no version field");
  if (!have_mode) return Status::error("no mode field");
  if (!have_age) return Status::error("no max_age field");
  if (p.mode != StsMode::kNone && p.mx.empty()) return Status::error("no mx field");
  return p;
}

bool sts_mx_matches(std::string_view pattern, std::string_view host) {
  std::string h = lower_host(host);
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    // RFC 8461 4.1: the wildcard stands for exactly one leftmost label.
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    if (h.size() <= suffix.size()) return false;
    if (std::string_view(h).substr(h.size() - suffix.size()) != suffix) return false;
    std::string_view label = std::string_view(h).substr(0, h.size() - suffix.size());
    return !label.empty() && label.find('.') == std::string_view::npos;
  }
  return h == pattern;
}

bool sts_policy_allows(const StsPolicy& p, std::string_view host) {
  for (const auto& m : p.mx)
    if (sts_mx_matches(m, host)) return true;
  return false;
}

std::string sts_mx_list(const StsPolicy& p) {
  std::string out;
  for (const auto& m : p.mx) out += (out.empty() ? "" : ", ") + m;
  return out;
}

// "MBSTS1\nid <id>\nfetched <seconds>\n" then the policy text.
std::string format_sts_cache(const StsCacheEntry& e) {
  return "MBSTS1\nid " + e.id + "\nfetched " + std::to_string(e.fetched) + "\n" + e.text;
}

Result<StsCacheEntry> parse_sts_cache(std::string_view file) {
  StsCacheEntry e;
  auto take_line = [&file](std::string_view* line) {
    std::size_t nl = file.find('\n');
    if (nl == std::string_view::npos) return false;
    *line = file.substr(0, nl);
    file.remove_prefix(nl + 1);
    return true;
  };
  std::string_view l;
  if (!take_line(&l) || l != "MBSTS1") return Status::error("not an MTA-STS cache file");
  if (!take_line(&l) || l.substr(0, 3) != "id ") return Status::error("cache file without id");
  std::vector<std::string> txt{"v=STSv1; id=" + std::string(l.substr(3))};
  auto id = parse_sts_txt(txt);
  if (!id) return Status::error("cache file: " + id.message());
  e.id = *id;
  if (!take_line(&l) || l.substr(0, 8) != "fetched " || l.size() < 9 || l.size() > 8 + 12)
    return Status::error("cache file without fetch time");
  for (char c : l.substr(8)) {
    if (c < '0' || c > '9') return Status::error("cache file: bad fetch time");
    e.fetched = e.fetched * 10 + (c - '0');
  }
  auto p = parse_sts_policy(file);
  if (!p) return Status::error("cache file: " + p.message());
  e.text = std::string(file);
  e.policy = std::move(*p);
  return e;
}

}  // namespace delivery::remote
