// Implementation of the Deliver request split (see batches.hpp).
#include "queue-manager/batches.hpp"

#include <map>
#include <string_view>

#include "common/mail/ascii.hpp"

namespace qmgr {

std::vector<std::vector<std::size_t>> local_batches(const std::vector<std::size_t>& which,
                                                    std::size_t limit) {
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t start = 0; start < which.size(); start += limit) {
    std::size_t end = std::min(which.size(), start + limit);
    out.emplace_back(which.begin() + static_cast<std::ptrdiff_t>(start),
                     which.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

std::vector<std::vector<std::size_t>> remote_batches(const std::vector<std::string>& addresses,
                                                     const std::vector<std::size_t>& which,
                                                     std::size_t limit) {
  // Domains in the order of their first recipient, so a message to one domain keeps its
  // recipients' order.
  std::map<std::string, std::size_t> slot;
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t k = 0; k < which.size() && k < addresses.size(); ++k) {
    std::string_view a = addresses[k];
    auto at = a.rfind('@');
    std::string domain =
        common::mail::lower(at == std::string_view::npos ? std::string_view() : a.substr(at + 1));
    auto [it, fresh] = slot.emplace(std::move(domain), groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(which[k]);
  }
  std::vector<std::vector<std::size_t>> out;
  std::vector<std::size_t> cur;
  for (auto& g : groups) {
    if (!cur.empty() && cur.size() + g.size() > limit) {
      out.push_back(std::move(cur));
      cur.clear();
    }
    for (std::size_t i : g) {
      if (cur.size() == limit) {
        out.push_back(std::move(cur));
        cur.clear();
      }
      cur.push_back(i);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace qmgr
