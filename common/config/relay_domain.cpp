// The relay_domain_settings parser (see relay_domain.hpp).
#include "common/config/relay_domain.hpp"

#include "common/config/config.hpp"
#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"
#include "common/net/cidr.hpp"

namespace common::config {
namespace {

constexpr std::size_t kMaxEntry = 4096;
constexpr std::int64_t kMaxLifetime = 100 * 86400;  // queue_lifetime's own maximum

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    auto at = s.find(sep, from);
    out.emplace_back(s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) break;
    from = at + 1;
  }
  return out;
}

}  // namespace

Result<RelayDomainSettings> parse_relay_domain(std::string_view entry) {
  if (entry.size() > kMaxEntry) return Status::error("relay domain entry too long");
  auto parts = split(entry, ';');
  RelayDomainSettings r;
  r.domain = mail::lower(parts[0]);
  if (!mail::is_domain(r.domain, false)) return Status::error("not a domain name: " + parts[0]);
  bool seen_lifetime = false, seen_max = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string& o = parts[i];
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::error(r.domain + ": expected option=value, not '" + o + "'");
    std::string key = mail::lower(o.substr(0, eq));
    std::string value = o.substr(eq + 1);
    if (key == "lifetime") {
      if (seen_lifetime) return Status::error(r.domain + ": lifetime given twice");
      seen_lifetime = true;
      auto d = parse_duration(value);
      if (!d) return Status::error(r.domain + ": lifetime: " + d.message());
      if (*d < 1 || *d > kMaxLifetime) return Status::error(r.domain + ": lifetime must be 1s to 100d");
      r.lifetime = *d;
    } else if (key == "max_queued") {
      if (seen_max) return Status::error(r.domain + ": max_queued given twice");
      seen_max = true;
      auto n = parse_size(value);
      if (!n) return Status::error(r.domain + ": max_queued: " + n.message());
      if (*n < 1) return Status::error(r.domain + ": max_queued must be at least 1 byte");
      r.max_queued = *n;
    } else if (key == "release") {
      if (r.has_release) return Status::error(r.domain + ": release given twice");
      r.has_release = true;
      r.release = split(value, '+');
      for (const auto& n : r.release)
        if (n.empty())
          return Status::error(r.domain + ": release: empty network (networks are joined by '+')");
      auto l = net::NetworkList::parse(r.release);
      if (!l) return Status::error(r.domain + ": release: " + l.message());
    } else {
      return Status::error(r.domain + ": unknown option '" + key + "' (lifetime, max_queued, release)");
    }
  }
  return r;
}

Result<std::vector<RelayDomainSettings>> parse_relay_domains(const std::vector<std::string>& entries) {
  std::vector<RelayDomainSettings> out;
  for (const auto& e : entries) {
    auto r = parse_relay_domain(e);
    if (!r) return r.status();
    if (find_relay_domain(out, r->domain)) return Status::error(r->domain + " named twice");
    out.push_back(std::move(*r));
  }
  return out;
}

const RelayDomainSettings* find_relay_domain(const std::vector<RelayDomainSettings>& all,
                                             std::string_view domain) {
  for (const auto& r : all)
    if (r.domain == domain) return &r;
  return nullptr;
}

}  // namespace common::config
