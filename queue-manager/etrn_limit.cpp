// Implementation of the ETRN domain index and limits (see etrn_limit.hpp).
#include "queue-manager/etrn_limit.hpp"

#include "common/mail/ascii.hpp"

namespace qmgr {

std::string DomainIndex::domain_of(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return "";
  return common::mail::lower(std::string_view(address).substr(at + 1));
}

std::string DomainIndex::reversed(const std::string& domain) {
  std::string out;
  out.reserve(domain.size());
  std::size_t end = domain.size();
  while (true) {
    auto dot = domain.rfind('.', end == 0 ? 0 : end - 1);
    if (end == 0 || dot == std::string::npos) {
      out.append(domain, 0, end);
      break;
    }
    out.append(domain, dot + 1, end - dot - 1);
    out += '.';
    end = dot;
  }
  return out;
}

void DomainIndex::add(const std::string& id, const std::vector<std::string>& addresses) {
  for (const auto& a : addresses) {
    std::string d = domain_of(a);
    if (d.empty()) continue;
    // Ids mostly come in ascending order (intake, recovery): the end is the right hint.
    auto& ids = by_domain_[reversed(d)];
    ids.insert(ids.end(), id);
  }
}

void DomainIndex::remove(const std::string& id, const std::vector<std::string>& addresses) {
  for (const auto& a : addresses) {
    auto it = by_domain_.find(reversed(domain_of(a)));
    if (it == by_domain_.end()) continue;
    it->second.erase(id);
    if (it->second.empty()) by_domain_.erase(it);
  }
}

std::vector<std::pair<std::string, const std::set<std::string>*>> DomainIndex::match(
    const std::string& domain, bool subdomains) const {
  std::vector<std::pair<std::string, const std::set<std::string>*>> out;
  std::string key = domain_of("@" + domain);
  if (key.empty()) return out;
  key = reversed(key);
  if (auto it = by_domain_.find(key); it != by_domain_.end()) out.emplace_back(it->first, &it->second);
  if (!subdomains) return out;
  // "example.backup." sorts right after "example.backup" and before any sibling such as
  // "example.backup-x": every subdomain shares the prefix and so forms one range.
  std::string prefix = key + ".";
  for (auto it = by_domain_.lower_bound(prefix); it != by_domain_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.emplace_back(it->first, &it->second);
  }
  return out;
}

void EtrnLimiter::prune(std::int64_t now) {
  // Forget what no longer limits anything, at most once per interval: the maps stay as
  // small as the set of recent clients and domains.
  if (now - last_prune_ < l_.interval) return;
  last_prune_ = now;
  for (auto it = clients_.begin(); it != clients_.end();)
    it = now - it->second.start >= l_.interval ? clients_.erase(it) : std::next(it);
  for (auto it = released_.begin(); it != released_.end();)
    it = now - it->second >= l_.interval ? released_.erase(it) : std::next(it);
}

bool EtrnLimiter::allow_client(const std::string& client, std::int64_t now) {
  prune(now);
  Window& w = clients_[client];
  if (now - w.start >= l_.interval) w = Window{now, 0};
  if (w.count >= l_.per_client) return false;
  ++w.count;
  return true;
}

bool EtrnLimiter::release_domain(const std::string& domain, std::int64_t now) {
  auto [it, fresh] = released_.try_emplace(domain, now);
  if (fresh) return true;
  if (now - it->second < l_.interval) return false;
  it->second = now;
  return true;
}

}  // namespace qmgr
