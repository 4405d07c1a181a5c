// DMARC for the checks process (see message_checks.hpp): From domain, record discovery
// (RFC 7489 6.6.3) on our Dns, libopendmarc's record parser, our alignment and policy.
extern "C" {
#include <opendmarc/dmarc.h>
}

#include <random>

#include "common/mail/ascii.hpp"
#include "smtpd/checks/from_domain.hpp"
#include "smtpd/checks/message_checks.hpp"

namespace checks {
namespace {

enum class Lookup { kFound, kNone, kTempFail, kMultiple };

// RFC 7489 6.6.3: the TXT records at _dmarc.<domain> that start with "v=DMARC1";
// exactly one must.
Lookup fetch_record(Dns& dns, const std::string& domain, std::string* record) {
  DnsAnswer a = dns.query("_dmarc." + domain, kTypeTxt);
  if (a.rcode == DnsAnswer::Rcode::kTempFail) return Lookup::kTempFail;
  if (a.rcode != DnsAnswer::Rcode::kOk) return Lookup::kNone;
  int found = 0;
  for (const auto& r : a.rdata) {
    std::string t = txt_string(r);
    std::string_view v = t;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    if (v.size() >= 8 && common::mail::iequals(v.substr(0, 8), "v=DMARC1") &&
        (v.size() == 8 || v[8] == ';' || v[8] == ' ' || v[8] == '\t')) {
      ++found;
      *record = t;
    }
  }
  if (found > 1) return Lookup::kMultiple;
  return found == 1 ? Lookup::kFound : Lookup::kNone;
}

DmarcPolicy policy_of(int p) {
  if (p == DMARC_RECORD_P_REJECT) return DmarcPolicy::kReject;
  if (p == DMARC_RECORD_P_QUARANTINE) return DmarcPolicy::kQuarantine;
  return DmarcPolicy::kNone;
}

// libopendmarc's parser; false for a record it refuses (a permerror).
bool parse_record(const std::string& domain, const std::string& text, DmarcRecord* rec) {
  DMARC_POLICY_T* pctx =
      opendmarc_policy_connect_init(reinterpret_cast<u_char*>(const_cast<char*>("0.0.0.0")), 0);
  if (!pctx) return false;
  std::string d = domain, t = text;
  bool ok = opendmarc_policy_parse_dmarc(pctx, reinterpret_cast<u_char*>(d.data()),
                                         reinterpret_cast<u_char*>(t.data())) == DMARC_PARSE_OKAY;
  if (ok) {
    int p = 0, sp = 0, adkim = 0, aspf = 0, pct = 100;
    opendmarc_policy_fetch_p(pctx, &p);
    opendmarc_policy_fetch_sp(pctx, &sp);
    opendmarc_policy_fetch_adkim(pctx, &adkim);
    opendmarc_policy_fetch_aspf(pctx, &aspf);
    opendmarc_policy_fetch_pct(pctx, &pct);
    rec->p = policy_of(p);
    rec->has_sp = sp != DMARC_RECORD_P_UNSPECIFIED;
    rec->sp = policy_of(sp);
    rec->adkim_strict = adkim == DMARC_RECORD_A_STRICT;
    rec->aspf_strict = aspf == DMARC_RECORD_A_STRICT;
    rec->pct = pct < 0 || pct > 100 ? 100 : pct;
    ok = p != DMARC_RECORD_P_UNSPECIFIED;  // RFC 7489 6.3: p= is required
  }
  opendmarc_policy_connect_shutdown(pctx);
  return ok;
}

int sample() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<int>(rng() % 100);
}

}  // namespace

DmarcVerdict check_dmarc(Dns& dns, const PublicSuffixList& psl, const std::string& headers,
                         const std::string& spf_result, const std::string& spf_domain,
                         const std::vector<DkimSig>& dkim) {
  DmarcVerdict v;
  FromDomain from = from_domain(headers);
  switch (from.kind) {
    case FromDomain::Kind::kNone: return {"permerror", "", "no From header", DmarcPolicy::kNone};
    case FromDomain::Kind::kMultiple:
      return {"permerror", "", "more than one From address", DmarcPolicy::kNone};
    case FromDomain::Kind::kBad: return {"permerror", "", "no domain in From", DmarcPolicy::kNone};
    case FromDomain::Kind::kOk: break;
  }
  v.from_domain = from.domain;
  DmarcFacts f;
  f.from_domain = from.domain;
  std::string record, at = from.domain;
  Lookup l = fetch_record(dns, from.domain, &record);
  std::string org = psl.org_domain(from.domain);
  if (l == Lookup::kNone && org != from.domain) {
    l = fetch_record(dns, org, &record);
    at = org;
    f.record_at_org = true;
  }
  if (l == Lookup::kTempFail) {
    v.result = "temperror";
    v.comment = "DNS failure looking up _dmarc." + at;
    return v;
  }
  if (l == Lookup::kMultiple) {
    v.result = "none";
    v.comment = "more than one DMARC record at _dmarc." + at;
    return v;
  }
  if (l == Lookup::kNone) {
    v.result = "none";
    return v;
  }
  if (!parse_record(at, record, &f.record)) {
    v.result = "permerror";
    v.comment = "bad DMARC record at _dmarc." + at;
    return v;
  }
  f.spf_result = spf_result;
  f.spf_domain = spf_domain;
  for (const auto& s : dkim)
    if (s.result == "pass") f.dkim_pass_domains.push_back(s.domain);
  f.sample = sample();
  DmarcOutcome o = evaluate(f, psl);
  v.result = o.pass ? "pass" : "fail";
  v.comment = o.comment;
  v.applied = o.applied;
  return v;
}

}  // namespace checks
