// Parsing of relay recipient lists (see relay_list.hpp).
#include "mailctl/relay_list.hpp"

#include <algorithm>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/idna.hpp"

namespace mailctl {

using common::Result;
using common::Status;

Result<std::string> relay_recipient_key(std::string_view text, const std::string& domain) {
  std::string s(text);
  if (s.find('@') == std::string::npos) {
    if (domain.empty()) return Status::error("'" + s + "' is not an address (want local@domain)");
    s += "@" + domain;
  }
  auto a = common::mail::parse_mailbox(s, true);
  if (!a) return Status::error("'" + std::string(text) + "' is not an address: " + a.message());
  if (a->literal) return Status::error("'" + std::string(text) + "': an address literal has no relay list");
  if (common::mail::has_non_ascii(a->domain)) {
    auto ascii = common::mail::domain_to_ascii(a->domain);
    if (!ascii) return Status::error("'" + std::string(text) + "': " + ascii.message());
    a->domain = std::move(*ascii);
  }
  std::string key = a->key();
  if (!domain.empty() && common::mail::lower(a->domain) != domain)
    return Status::error("'" + std::string(text) + "' is not an address of " + domain);
  return key;
}

Result<std::vector<std::string>> parse_relay_list(std::string_view text, const std::string& domain) {
  std::vector<std::string> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    auto k = relay_recipient_key(line, domain);
    if (!k) return Status::error("line " + std::to_string(line_no) + ": " + k.message());
    out.push_back(std::move(*k));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace mailctl
