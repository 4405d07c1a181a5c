// Authentication-Results formatting and forged-header removal (see authres.hpp).
#include "common/checks/authres.hpp"

#include "common/mail/ascii.hpp"

namespace common::checks {
namespace {

bool is_tspecial(char c) { return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos; }
bool is_token_char(char c) { return c > 0x20 && c < 0x7f && !is_tspecial(c); }

std::string clean(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back((c >= 0x20 && c < 0x7f) || (c & 0x80) ? c : '?');
  return out;
}

// RFC 8601 2.2 "value" is a token or a quoted-string; pvalue also allows an addr-spec
// ([local-part "@"] domain), written as is when every character is atext or '.'/'@'.
std::string value(std::string_view v) {
  bool token = !v.empty(), addr = !v.empty();
  for (char c : v) {
    if (!is_token_char(c)) token = false;
    bool atext = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$%&'*+-/=?^_`{|}~.@").find(c) != std::string_view::npos;
    if (!atext) addr = false;
  }
  if (token || addr) return std::string(v);
  std::string out = "\"";
  for (char c : clean(v)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string comment(std::string_view c) {
  std::string out = "(";
  for (char ch : clean(c)) {
    if (ch == '(' || ch == ')' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out + ")";
}

std::string word(std::string_view w) {
  std::string out;
  for (char c : w)
    if (is_token_char(c)) out.push_back(c);
  return out.empty() ? "unknown" : out;
}

// Skips CFWS (RFC 5322 3.2.2): whitespace, line breaks and nested comments.
std::size_t skip_cfws(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (depth > 0) {
      if (c == '\\')
        ++i;
      else if (c == '(')
        ++depth;
      else if (c == ')')
        --depth;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      depth = 1;
      ++i;
    } else {
      break;
    }
  }
  return i;
}

bool is_ar_field(std::string_view line) {
  constexpr std::string_view kName = "authentication-results";
  if (line.size() <= kName.size() || !mail::iequals(line.substr(0, kName.size()), kName)) return false;
  std::size_t i = kName.size();
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;  // obs-optional WSP
  return i < line.size() && line[i] == ':';
}

}  // namespace

std::string format_authres(std::string_view authserv_id, const std::vector<ResInfo>& results) {
  std::string out = "Authentication-Results: " + value(authserv_id) + ";";
  if (results.empty()) return out + " none\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ResInfo& r = results[i];
    out += "\n\t" + word(r.method) + "=" + word(r.result);
    if (!r.comment.empty()) out += " " + comment(r.comment);
    for (const auto& p : r.props) out += " " + word(p.ptype) + "." + word(p.property) + "=" + value(p.value);
    if (i + 1 < results.size()) out += ";";
  }
  return out + "\n";
}

bool claims_authserv_id(std::string_view v, std::string_view authserv_id) {
  std::size_t i = skip_cfws(v, 0);
  std::string id;
  if (i < v.size() && v[i] == '"') {
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      if (v[i] != '\r' && v[i] != '\n') id.push_back(v[i]);
    }
    if (i >= v.size()) return false;  // unterminated
  } else {
    while (i < v.size() && is_token_char(v[i])) id.push_back(v[i++]);
  }
  return !id.empty() && mail::iequals(id, authserv_id);
}

void AuthResStripper::feed(std::string_view in, std::string* out) {
  while (!in.empty()) {
    if (body_) {
      out->append(in);
      return;
    }
    std::size_t nl = in.find('\n');
    bool complete = nl != std::string_view::npos;
    std::string_view piece = complete ? in.substr(0, nl + 1) : in;
    in.remove_prefix(piece.size());
    if (mid_line_) {  // the rest of an over-long line shares the fate of its start
      if (in_ar_) {
        overflow_ = true;
      } else {
        out->append(piece);
      }
      mid_line_ = !complete;
      continue;
    }
    if (!complete) {
      partial_.append(piece);
      if (partial_.size() > kMaxField) {  // too long to hold: decide on its start
        std::string l = std::move(partial_);
        partial_.clear();
        line(l, out);
        mid_line_ = true;
      }
      continue;
    }
    if (partial_.empty()) {
      line(piece, out);
    } else {
      partial_.append(piece);
      std::string l = std::move(partial_);
      partial_.clear();
      line(l, out);
    }
  }
}

void AuthResStripper::line(std::string_view l, std::string* out) {
  bool continuation = !l.empty() && (l[0] == ' ' || l[0] == '\t');
  if (continuation && in_ar_) {
    if (field_.size() + l.size() > kMaxField || l.back() != '\n') overflow_ = true;
    if (!overflow_) field_.append(l);
    return;
  }
  if (!continuation) end_field(out);
  if (l == "\n" || l == "\r\n") {
    body_ = true;
    out->append(l);
    return;
  }
  if (!continuation && is_ar_field(l)) {
    in_ar_ = true;
    overflow_ = l.back() != '\n';
    field_.assign(l);
    return;
  }
  out->append(l);
}

void AuthResStripper::end_field(std::string* out) {
  if (!in_ar_) return;
  std::string_view f = field_;
  std::string_view v = f.substr(f.find(':') + 1);
  if (overflow_ || claims_authserv_id(v, id_)) {
    ++removed_;
  } else {
    out->append(field_);
  }
  field_.clear();
  in_ar_ = false;
  overflow_ = false;
}

void AuthResStripper::finish(std::string* out) {
  if (!partial_.empty()) {
    std::string l = std::move(partial_);
    partial_.clear();
    line(l, out);
  }
  end_field(out);
}

}  // namespace common::checks
