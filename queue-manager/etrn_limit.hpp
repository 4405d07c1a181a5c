// What keeps ETRN (RFC 1985) cheap and harmless: an index of the queue by recipient
// domain, so that a request looks only at the messages for its domain instead of the
// whole queue, and the limits on forcing: a domain released less than `interval` ago
// is not forced again, and one client may ask only `per_client` times per interval.
// Pure bookkeeping, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace qmgr {

struct EtrnLimits {
  std::int64_t interval = 60;  // seconds
  std::uint32_t per_client = 30;
};

// Message ids by lower-cased recipient domain. Domains are kept with their labels in
// reverse order ("example.backup"), so the subdomains of one are a contiguous range.
class DomainIndex {
 public:
  void add(const std::string& id, const std::vector<std::string>& addresses);
  void remove(const std::string& id, const std::vector<std::string>& addresses);
  // Every indexed domain equal to `domain` (or, with `subdomains`, below it), each with
  // the ids of its messages; in the order of the reversed names.
  std::vector<std::pair<std::string, const std::set<std::string>*>> match(const std::string& domain,
                                                                          bool subdomains) const;
  std::size_t domains() const { return by_domain_.size(); }

  static std::string domain_of(const std::string& address);  // lower-cased, "" if none
  static std::string reversed(const std::string& domain);

 private:
  std::map<std::string, std::set<std::string>> by_domain_;  // reversed domain -> ids
};

class EtrnLimiter {
 public:
  explicit EtrnLimiter(EtrnLimits l = {}) : l_(l) {}
  void set_limits(EtrnLimits l) { l_ = l; }  // a reload; the counts so far stay
  // Counts one request from `client`; false if it is over its limit for this interval.
  bool allow_client(const std::string& client, std::int64_t now);
  // Whether `domain` (as indexed) may be forced now; if so, it counts as released now.
  bool release_domain(const std::string& domain, std::int64_t now);

 private:
  struct Window {
    std::int64_t start = 0;
    std::uint32_t count = 0;
  };
  void prune(std::int64_t now);
  EtrnLimits l_;
  std::unordered_map<std::string, Window> clients_;
  std::unordered_map<std::string, std::int64_t> released_;
  std::int64_t last_prune_ = 0;
};

}  // namespace qmgr
