// Reading the From domain for DMARC (see from_domain.hpp).
#include "smtpd/checks/from_domain.hpp"

#include <vector>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace checks {
namespace {

bool is_from_field(std::string_view line) {
  if (line.size() < 5 || !common::mail::iequals(line.substr(0, 4), "from")) return false;
  std::size_t i = 4;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

// The value without comments (RFC 5322 3.2.2) and line breaks; quoted strings kept.
std::string strip_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '\\' && i + 1 < v.size()) {
      if (depth == 0) {
        out.push_back(c);
        out.push_back(v[i + 1]);
      }
      ++i;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      out.push_back(c);
    } else if (depth > 0) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
    } else if (c == '(') {
      depth = 1;
      out.push_back(' ');
    } else {
      if (c == '"') quoted = true;
      out.push_back(c);
    }
  }
  return out;
}

// Splits at commas outside quoted strings and angle brackets (RFC 5322 3.4 mailbox-list).
std::vector<std::string> split_mailboxes(const std::string& v) {
  std::vector<std::string> out(1);
  bool quoted = false, angle = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size()) {
      out.back() += v.substr(i, 2);
      ++i;
      continue;
    }
    if (c == '"' && !angle) quoted = !quoted;
    if (!quoted && c == '<') angle = true;
    if (!quoted && c == '>') angle = false;
    if (c == ',' && !quoted && !angle) {
      out.emplace_back();
      continue;
    }
    out.back().push_back(c);
  }
  std::vector<std::string> kept;
  for (auto& s : out)
    if (s.find_first_not_of(" \t") != std::string::npos) kept.push_back(std::move(s));
  return kept;
}

std::string trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::string_view header_section(std::string_view message, std::size_t limit) {
  std::string_view m = message.substr(0, limit);
  if (m.starts_with("\n")) return m.substr(0, 0);
  if (m.starts_with("\r\n")) return m.substr(0, 0);
  std::size_t lf = m.find("\n\n"), crlf = m.find("\n\r\n");
  std::size_t end = std::min(lf, crlf);
  return end == std::string_view::npos ? m : m.substr(0, end + 1);
}

FromDomain from_domain(std::string_view headers) {
  FromDomain r;
  std::vector<std::string> values;
  bool in_from = false;
  while (!headers.empty()) {
    std::size_t nl = headers.find('\n');
    std::string_view line = headers.substr(0, nl);
    headers.remove_prefix(nl == std::string_view::npos ? headers.size() : nl + 1);
    if (line.empty() || line == "\r") break;  // end of the header section
    if (line[0] == ' ' || line[0] == '\t') {
      if (in_from) values.back().append(line);
      continue;
    }
    in_from = is_from_field(line);
    if (in_from) values.emplace_back(line.substr(line.find(':') + 1));
  }
  if (values.empty()) return r;
  if (values.size() > 1) {
    r.kind = FromDomain::Kind::kMultiple;
    return r;
  }
  auto boxes = split_mailboxes(strip_comments(values[0]));
  if (boxes.size() > 1) {
    r.kind = FromDomain::Kind::kMultiple;
    return r;
  }
  r.kind = FromDomain::Kind::kBad;
  if (boxes.empty()) return r;
  std::string addr = boxes[0];
  std::size_t lt = addr.rfind('<');
  if (lt != std::string::npos) {
    std::size_t gt = addr.find('>', lt);
    if (gt == std::string::npos) return r;
    addr = addr.substr(lt + 1, gt - lt - 1);
  }
  std::size_t at = addr.rfind('@');
  if (at == std::string::npos) return r;
  std::string domain = trim(std::string_view(addr).substr(at + 1));
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!common::mail::is_domain(domain, true)) return r;
  r.kind = FromDomain::Kind::kOk;
  r.domain = common::mail::lower(domain);
  return r;
}

}  // namespace checks
