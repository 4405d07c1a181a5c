// DMARC's decision (RFC 7489), pure: identifier alignment (3.1), which policy applies
// (6.3 p= and sp=, 6.6.4 pct=), and the result. The checks process fetches and parses
// the record (dmarc.cpp, with libopendmarc's parser) and hands the facts here; the
// alignment is ours because libopendmarc 1.4.2 gets strict alignment wrong once a
// Public Suffix List is loaded.
#pragma once

#include <string>
#include <vector>

#include "smtpd/checks/psl.hpp"

namespace checks {

enum class DmarcPolicy { kNone, kQuarantine, kReject };
const char* policy_name(DmarcPolicy p);

struct DmarcRecord {
  DmarcPolicy p = DmarcPolicy::kNone;
  bool has_sp = false;
  DmarcPolicy sp = DmarcPolicy::kNone;
  bool adkim_strict = false;
  bool aspf_strict = false;
  int pct = 100;
};

struct DmarcFacts {
  std::string from_domain;     // RFC5322.From, lower case
  bool record_at_org = false;  // the record came from the organizational domain, not from_domain
  DmarcRecord record;
  std::string spf_result;  // of the MAIL FROM identity (or HELO for the null sender)
  std::string spf_domain;
  std::vector<std::string> dkim_pass_domains;  // d= of every signature that verified
  int sample = 0;                              // 0..99, drawn by the caller, for pct
};

struct DmarcOutcome {
  bool pass = false;
  bool dkim_aligned = false;
  bool spf_aligned = false;
  DmarcPolicy requested = DmarcPolicy::kNone;  // p= or sp=
  DmarcPolicy applied = DmarcPolicy::kNone;    // after pct=; kNone when pass
  std::string comment;                         // "p=reject dis=quarantine" for the header
};

// RFC 7489 3.1.1/3.1.2: relaxed alignment compares organizational domains, strict the
// names themselves (case-insensitive).
bool aligned(const std::string& a, const std::string& b, bool strict, const PublicSuffixList& psl);

DmarcOutcome evaluate(const DmarcFacts& f, const PublicSuffixList& psl);

}  // namespace checks
