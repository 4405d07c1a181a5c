// The administrator's filtering rules (mailctl rule, stored in accounts.mdb as
// accounts::FilterRule): how an administrator's words become a normalised rule, and the
// pure matcher smtpd applies to a client address and a sender (at MAIL and RCPT) and
// whose content rules it hands to the checks process at DATA. No I/O; see rules_test.cpp
// and rules_fuzz.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts/records.hpp"
#include "common/net/cidr.hpp"
#include "common/result.hpp"

namespace common::checks {

// Longest pattern an administrator may store: a sender pattern may be as long as the
// longest address (64 + 1 + 255, RFC 5321 4.5.3.1) and then some wildcards; a phrase is
// for matching, not for pasting in whole paragraphs (and all content rules travel in
// one Check frame to the checks process).
inline constexpr std::size_t kMaxSenderPattern = 400;
inline constexpr std::size_t kMaxPhrase = 200;
inline constexpr std::uint64_t kMaxAttachmentLimit = 1ull << 40;
// The phrases of all word rules together: they travel in one Check frame (kMaxFrame).
inline constexpr std::size_t kMaxWordRulesBytes = 64 * 1024;

// A rule from its words: KIND PATTERN [ACTION] [DOMAIN]. Kinds and actions:
//   sender PATTERN reject|allow [DOMAIN]   a full address, "@domain", "*@domain" or any
//                                          pattern with '*' wildcards; DOMAIN limits the
//                                          rule to recipients in that domain
//   client CIDR reject                     a network or one address
//   word PHRASE reject|junk                in the Subject or a text body part
//   attachment-size BYTES                  the largest decoded attachment that passes
// With `for_delete` the action may be left out (a rule is named by kind, pattern and
// domain). The result is normalised: lower case (ASCII), domains in A-labels, networks
// in their canonical form, so that equal rules have equal keys.
Result<accounts::FilterRule> parse_rule(const std::vector<std::string>& words, bool for_delete);

// A sender pattern in normal form ("@d" becomes "*@d"), or why it is refused.
Result<std::string> normalise_sender_pattern(std::string_view text);
// The envelope sender as the sender patterns see it: ASCII lower case, the domain in
// A-labels where it converts. The null sender "" stays "" and matches no pattern.
std::string sender_subject(std::string_view address);
// '*' matches any run of octets (also none); everything else matches itself, ASCII
// letters without regard to case. Linear in memory, at most |pattern|*|text| steps.
bool glob_match(std::string_view pattern, std::string_view text);

// The words `mailctl rule list` prints for a rule (what parse_rule reads back).
std::string describe_rule(const accounts::FilterRule& r);

// The rules in a form quick to apply. Rules that do not parse (not written by mailctl)
// are skipped and counted.
struct SenderRule {
  std::string pattern;
  bool allow = false;
  std::string scope;  // recipient domain, "" = every recipient
};
struct WordRule {
  std::string phrase;  // lower case
  bool junk = false;   // else reject
};
struct RuleSet {
  std::vector<SenderRule> senders;
  std::vector<net::Network> clients;
  std::vector<WordRule> words;
  std::uint64_t attachment_max = 0;  // 0: no limit
  std::size_t skipped = 0;

  static RuleSet build(const std::vector<accounts::FilterRule>& rules);
  bool empty() const { return senders.empty() && clients.empty() && words.empty() && attachment_max == 0; }
};

// Is the client's address in a blocked network?
bool client_blocked(const RuleSet& rules, std::string_view ip);

// The sender rules' verdict. At MAIL (no recipient domain) a reject rule for every
// recipient counts, and any allow rule that matches lets MAIL pass (a scoped allow
// still needs its domain, which RCPT decides). At RCPT with the recipient's domain,
// the rules for every recipient and those for that domain count. An allow rule wins
// over a reject rule.
struct SenderVerdict {
  bool rejected = false;  // a reject rule matched and no allow rule did
  bool allowed = false;   // an allow rule matched
};
SenderVerdict sender_verdict(const RuleSet& rules, std::string_view sender,
                             std::optional<std::string_view> rcpt_domain);

}  // namespace common::checks
