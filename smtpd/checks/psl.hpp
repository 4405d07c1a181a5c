// The organizational domain of a name (RFC 7489 3.2) from the Public Suffix List
// (publicsuffix.org, Debian's publicsuffix package). Pure: the checks process reads the
// file once at start. A name under no listed suffix takes the list's default rule "*"
// (its last label is a public suffix), so "example.test" is the organizational domain of
// "a.b.example.test" whether or not the list is loaded.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

namespace checks {

inline constexpr const char* kPublicSuffixFile = "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixList {
 public:
  // The list's text: one rule per line ("com", "*.ck", "!www.ck"), "//" comments.
  void load(std::string_view text);
  std::size_t size() const { return rules_.size() + wildcards_.size() + exceptions_.size(); }
  // The public suffix of `domain` plus one label; `domain` itself when it is a public
  // suffix or has a single label. Case-insensitive; the answer is lower case.
  std::string org_domain(std::string_view domain) const;

 private:
  std::unordered_set<std::string> rules_;       // "com", "co.uk"
  std::unordered_set<std::string> wildcards_;   // "ck" for "*.ck"
  std::unordered_set<std::string> exceptions_;  // "www.ck" for "!www.ck"
};

}  // namespace checks
