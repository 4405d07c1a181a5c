// Implementation of the https: rua pieces (see https.hpp).
#include "common/tlsrpt/https.hpp"

#include <algorithm>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace common::tlsrpt {

namespace {

// All labels numeric: an IPv4 literal (or nonsense), not a name.
bool all_numeric(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

Result<HttpsTarget> parse_https_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "https://";
  if (uri.size() < kScheme.size() || common::mail::lower(uri.substr(0, kScheme.size())) != kScheme)
    return Status::error("not an https: URI");
  std::string_view rest = uri.substr(kScheme.size());
  rest = rest.substr(0, rest.find('#'));
  std::size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos)
    return Status::error("user information in an https: URI");
  if (!authority.empty() && authority.front() == '[')
    return Status::error("an address literal, not a host name");
  HttpsTarget t;
  std::string_view host = authority;
  if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Status::error("bad port in an https: URI");
    t.port = std::stoi(std::string(port));
    if (t.port < 1 || t.port > 65535) return Status::error("bad port in an https: URI");
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return Status::error("no host in an https: URI");
  if (!common::mail::is_domain(host, false)) return Status::error("bad host name in an https: URI");
  if (all_numeric(host)) return Status::error("an address literal, not a host name");
  t.host = common::mail::lower(host);
  t.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return t;
}

std::string report_post_request(const HttpsTarget& t, std::string_view gzipped_report) {
  std::string r = "POST " + t.target + " HTTP/1.0\r\nHost: " + t.host;
  if (t.port != 443) r += ":" + std::to_string(t.port);
  r += "\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Length: " +
       std::to_string(gzipped_report.size()) + "\r\nConnection: close\r\n\r\n";
  r.append(gzipped_report);
  return r;
}

}  // namespace common::tlsrpt
