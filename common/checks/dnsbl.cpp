// DNS list specs, query names and scoring (see dnsbl.hpp).
#include "common/checks/dnsbl.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace common::checks {
namespace {

bool parse_int(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "a.b.c.d" in host order.
bool parse_v4(std::string_view s, std::uint32_t* out) {
  std::string tmp(s);
  in_addr a{};
  if (inet_pton(AF_INET, tmp.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

Result<CodeRange> parse_item(std::string_view item) {
  CodeRange r;
  std::size_t dots = item.find("..");
  std::string_view first = dots == std::string_view::npos ? item : item.substr(0, dots);
  if (!parse_v4(first, &r.first)) return Status::error("bad answer code '" + std::string(item) + "'");
  r.last = r.first;
  if (dots != std::string_view::npos) {
    int last = 0;
    if (!parse_int(item.substr(dots + 2), &last) || last < 0 || last > 255 ||
        static_cast<std::uint32_t>(last) < (r.first & 0xff))
      return Status::error("bad answer code range '" + std::string(item) + "'");
    r.last = (r.first & 0xffffff00u) | static_cast<std::uint32_t>(last);
  }
  return r;
}

}  // namespace

Result<DnsList> parse_list_spec(std::string_view spec, bool allow) {
  DnsList l;
  l.allow = allow;
  std::size_t star = spec.rfind('*');
  if (star != std::string_view::npos) {
    if (!parse_int(spec.substr(star + 1), &l.weight) || l.weight < 1 || l.weight > 1000)
      return Status::error("bad weight in '" + std::string(spec) + "' (1 to 1000)");
    spec = spec.substr(0, star);
  }
  std::size_t eq = spec.find('=');
  std::string_view zone = spec.substr(0, eq);
  if (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
  if (!mail::is_domain(zone, false)) return Status::error("not a DNS zone: '" + std::string(zone) + "'");
  l.zone = mail::lower(zone);
  if (eq != std::string_view::npos) {
    std::string_view filter = spec.substr(eq + 1);
    while (true) {
      std::size_t semi = filter.find(';');
      auto r = parse_item(filter.substr(0, semi));
      if (!r) return r.status();
      l.codes.push_back(*r);
      if (semi == std::string_view::npos) break;
      filter.remove_prefix(semi + 1);
    }
  }
  return l;
}

Result<std::vector<DnsList>> parse_lists(const std::vector<std::string>& specs, bool allow) {
  std::vector<DnsList> out;
  for (const auto& s : specs) {
    auto l = parse_list_spec(s, allow);
    if (!l) return l.status();
    out.push_back(std::move(*l));
  }
  return out;
}

std::string query_name(std::string_view ip, std::string_view zone) {
  std::string tmp(ip);
  unsigned char b[16];
  std::string out;
  if (inet_pton(AF_INET, tmp.c_str(), b) == 1) {
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + ".";
  } else if (inet_pton(AF_INET6, tmp.c_str(), b) == 1) {
    static const char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out += kHex[b[i] & 0xf];
      out += '.';
      out += kHex[b[i] >> 4];
      out += '.';
    }
  } else {
    return "";
  }
  return out + std::string(zone);
}

bool code_matches(const DnsList& list, std::string_view answer) {
  std::uint32_t a = 0;
  if (!parse_v4(answer, &a)) return false;
  if (list.codes.empty()) return (a >> 24) == 127;
  for (const auto& r : list.codes)
    if (a >= r.first && a <= r.last) return true;
  return false;
}

DnsblVerdict score(const std::vector<ListAnswer>& answers, int threshold) {
  DnsblVerdict v;
  int best_weight = 0, pending = 0;
  std::string allow_zone;
  for (const auto& a : answers) {
    if (!a.list) continue;
    if (a.temperror) {
      if (!a.list->allow) pending += a.list->weight;
      continue;
    }
    for (const auto& addr : a.addresses) {
      if (!code_matches(*a.list, addr)) continue;
      if (!v.detail.empty()) v.detail += ", ";
      v.detail += a.list->zone + "=" + addr;
      if (a.list->allow) {
        v.score -= a.list->weight;
        if (allow_zone.empty()) allow_zone = a.list->zone;
      } else {
        v.score += a.list->weight;
        if (a.list->weight > best_weight) {
          best_weight = a.list->weight;
          v.zone = a.list->zone;
          v.code = addr;
        }
      }
      break;  // one match per list
    }
  }
  if (best_weight > 0 && v.score >= threshold) {
    v.kind = DnsblVerdict::Kind::kListed;
  } else if (v.score + pending >= threshold && pending > 0) {
    v.kind = DnsblVerdict::Kind::kTempError;
    v.zone.clear();
    v.code.clear();
  } else if (!allow_zone.empty()) {
    v.kind = DnsblVerdict::Kind::kAllowed;
    v.zone = allow_zone;
    v.code.clear();
  } else {
    v.kind = DnsblVerdict::Kind::kPass;
    v.zone.clear();
    v.code.clear();
  }
  return v;
}

}  // namespace common::checks
