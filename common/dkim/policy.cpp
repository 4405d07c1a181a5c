// Implementation of the signing decision (see policy.hpp).
#include "common/dkim/policy.hpp"

#include "common/mail/ascii.hpp"

namespace common::dkim {

using common::spool::Origin;

namespace {

// `domain` or its nearest parent with a key ("" if none). Stops before a single label:
// no key is ever made for a top-level domain.
std::string keyed_domain(std::string domain, const std::function<bool(std::string_view)>& has_key) {
  while (!domain.empty() && domain.find('.') != std::string::npos) {
    if (has_key(domain)) return domain;
    domain = domain.substr(domain.find('.') + 1);
  }
  return "";
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  return common::mail::lower(address.substr(at + 1));
}

}  // namespace

std::string client_address(std::string_view client) {
  auto open = client.rfind('[');
  auto close = client.rfind(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return "";
  std::string_view a = client.substr(open + 1, close - open - 1);
  if (a.size() > 5 && common::mail::lower(a.substr(0, 5)) == "ipv6:") a.remove_prefix(5);
  return std::string(a);
}

Decision decide(const SignFacts& f, const common::net::NetworkList& relay_networks,
                const std::function<bool(std::string_view domain)>& has_key) {
  Decision d;
  bool own = f.origin == Origin::kLocalAgent || f.origin == Origin::kQueueManager;
  if (!own) {
    if (!f.auth_user.empty())
      d.why = "authenticated user";
    else if (f.protocol == common::spool::kProtocolLocal)
      d.why = "local submission";
    else if (relay_networks.contains(client_address(f.client)))
      d.why = "relay network";
    else {
      d.why = "not from an authenticated user, a relay network or this machine";
      return d;
    }
  } else {
    d.why = f.origin == Origin::kLocalAgent ? "local agent" : "queue manager notice";
  }
  d.domain = keyed_domain(f.from_domain, has_key);
  if (d.domain.empty() && own) d.domain = keyed_domain(domain_of(f.sender), has_key);
  if (d.domain.empty()) {
    d.why = f.from_domain.empty() ? "no From: domain" : "no key for " + f.from_domain;
    return d;
  }
  d.sign = true;
  return d;
}

std::string from_header_domain(std::string_view value) {
  // Drop comments (RFC 5322 3.2.2, nested) and quoted strings; what is left of a single
  // mailbox is "display <addr>" or "addr".
  std::string plain;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() && (quoted || depth > 0)) {
      ++i;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      continue;
    }
    if (c == '"') {
      quoted = true;
      plain.push_back(' ');
      continue;
    }
    if (c == '(') {
      depth = 1;
      continue;
    }
    plain.push_back(c);
  }
  if (quoted || depth > 0) return "";
  if (plain.find(',') != std::string::npos || plain.find(';') != std::string::npos) return "";  // a list
  std::string_view addr = plain;
  auto lt = addr.find('<');
  if (lt != std::string_view::npos) {
    auto gt = addr.find('>', lt);
    if (gt == std::string_view::npos || addr.find('<', lt + 1) != std::string_view::npos) return "";
    addr = addr.substr(lt + 1, gt - lt - 1);
  }
  auto at = addr.rfind('@');
  if (at == std::string_view::npos) return "";
  std::string_view dom = addr.substr(at + 1);
  while (!dom.empty() &&
         (dom.back() == ' ' || dom.back() == '\t' || dom.back() == '\r' || dom.back() == '\n'))
    dom.remove_suffix(1);
  if (dom.empty() || dom.size() > 253) return "";
  for (char c : dom) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_';
    if (!ok) return "";
  }
  if (dom.front() == '.' || dom.back() == '.' || dom.find("..") != std::string_view::npos) return "";
  return common::mail::lower(dom);
}

}  // namespace common::dkim
