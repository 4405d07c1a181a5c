// libFuzzer target for the filtering rules (rules.hpp): the input is split at NUL into
// the words of a rule and a sender (and a client address); parse_rule either refuses
// or gives a normalised rule that parses again to itself, and matching never misbehaves.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.hpp"
#include "common/checks/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start <= in.size()) {
    auto nul = in.find('\0', start);
    if (nul == std::string_view::npos) nul = in.size();
    words.emplace_back(in.substr(start, nul - start));
    start = nul + 1;
  }
  std::string subject = words.size() > 1 ? words.back() : "";
  if (words.size() > 1) words.pop_back();
  (void)common::checks::glob_match(words[0], subject);
  auto r = common::checks::parse_rule(words, false);
  if (!r) return 0;
  // Normal form is a fixed point: the rule's own words give the same rule.
  std::vector<std::string> again = {r->kind, r->pattern};
  if (r->kind != "attachment-size") again.push_back(r->action);
  if (!r->scope.empty()) again.push_back(r->scope);
  auto r2 = common::checks::parse_rule(again, false);
  MB_CHECK(r2.is_ok(), "a normalised rule does not parse again");
  MB_CHECK(r2->pattern == r->pattern && r2->scope == r->scope && r2->action == r->action,
           "normal form is not stable");
  auto set = common::checks::RuleSet::build({*r});
  MB_CHECK(set.skipped == 0, "a parsed rule is skipped");
  (void)common::checks::sender_verdict(set, subject, std::nullopt);
  (void)common::checks::sender_verdict(set, subject, std::string_view(r->scope));
  (void)common::checks::client_blocked(set, subject);
  return 0;
}
