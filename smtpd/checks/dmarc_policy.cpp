// DMARC alignment and policy choice (see dmarc_policy.hpp).
#include "smtpd/checks/dmarc_policy.hpp"

#include "common/mail/ascii.hpp"

namespace checks {

const char* policy_name(DmarcPolicy p) {
  switch (p) {
    case DmarcPolicy::kQuarantine: return "quarantine";
    case DmarcPolicy::kReject: return "reject";
    case DmarcPolicy::kNone: break;
  }
  return "none";
}

bool aligned(const std::string& a, const std::string& b, bool strict, const PublicSuffixList& psl) {
  if (a.empty() || b.empty()) return false;
  std::string la = common::mail::lower(a), lb = common::mail::lower(b);
  while (!la.empty() && la.back() == '.') la.pop_back();
  while (!lb.empty() && lb.back() == '.') lb.pop_back();
  if (strict) return la == lb;
  return psl.org_domain(la) == psl.org_domain(lb);
}

DmarcOutcome evaluate(const DmarcFacts& f, const PublicSuffixList& psl) {
  DmarcOutcome o;
  for (const auto& d : f.dkim_pass_domains)
    if (aligned(d, f.from_domain, f.record.adkim_strict, psl)) o.dkim_aligned = true;
  o.spf_aligned = f.spf_result == "pass" && aligned(f.spf_domain, f.from_domain, f.record.aspf_strict, psl);
  o.pass = o.dkim_aligned || o.spf_aligned;
  // RFC 7489 6.3: sp= is the policy for subdomains of the organizational domain, found
  // when the record came from there; p= otherwise (and when sp= is absent).
  o.requested = f.record_at_org && f.record.has_sp ? f.record.sp : f.record.p;
  o.applied = o.pass ? DmarcPolicy::kNone : o.requested;
  // 6.6.4: outside the sampled pct, the next policy down applies.
  if (!o.pass && f.sample >= f.record.pct) {
    if (o.applied == DmarcPolicy::kReject) {
      o.applied = DmarcPolicy::kQuarantine;
    } else if (o.applied == DmarcPolicy::kQuarantine) {
      o.applied = DmarcPolicy::kNone;
    }
  }
  o.comment = std::string("p=") + policy_name(o.requested) + " dis=" + policy_name(o.applied);
  return o;
}

}  // namespace checks
