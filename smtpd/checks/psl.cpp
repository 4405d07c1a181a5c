// Public Suffix List lookups (see psl.hpp), following the algorithm of publicsuffix.org.
#include "smtpd/checks/psl.hpp"

#include <vector>

#include "common/mail/ascii.hpp"

namespace checks {

void PublicSuffixList::load(std::string_view text) {
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::size_t end = line.find_first_of(" \t\r");
    line = line.substr(0, end);
    if (line.empty() || line.starts_with("//")) continue;
    std::string rule = common::mail::lower(line);
    if (rule.starts_with("!")) {
      exceptions_.insert(rule.substr(1));
    } else if (rule.starts_with("*.")) {
      wildcards_.insert(rule.substr(2));
    } else {
      rules_.insert(rule);
    }
  }
}

std::string PublicSuffixList::org_domain(std::string_view domain) const {
  std::string d = common::mail::lower(domain);
  while (!d.empty() && d.back() == '.') d.pop_back();
  std::vector<std::size_t> starts;  // where each label begins, leftmost first
  for (std::size_t i = 0; i < d.size(); ++i)
    if (i == 0 || d[i - 1] == '.') starts.push_back(i);
  const std::size_t n = starts.size();
  if (n <= 1) return d;
  // Labels in the public suffix: an exception rule wins outright (its suffix is the
  // rule minus its first label); otherwise the longest matching rule, "*" by default.
  std::size_t suffix_labels = 1;
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view s = std::string_view(d).substr(starts[i]);
    std::size_t labels = n - i;
    if (exceptions_.count(std::string(s))) {
      suffix_labels = labels - 1;
      return suffix_labels + 1 >= n ? d : d.substr(starts[n - suffix_labels - 1]);
    }
    if (rules_.count(std::string(s)) && labels > suffix_labels) suffix_labels = labels;
    if (i > 0 && wildcards_.count(std::string(s)) && labels + 1 > suffix_labels) suffix_labels = labels + 1;
  }
  if (suffix_labels >= n) return d;
  return d.substr(starts[n - suffix_labels - 1]);
}

}  // namespace checks
