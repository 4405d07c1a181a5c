// Implementation of check-dns's DKIM and DMARC judgement (see dns_auth.hpp). Texts from
// the DNS pass through terminal_safe() before they are shown.
#include "mailctl/dns_auth.hpp"

#include <algorithm>

#include "common/dkim/keys.hpp"
#include "common/dkim/tags.hpp"
#include "common/mail/ascii.hpp"
#include "mailctl/queue_format.hpp"

namespace mailctl {

using common::dns::Lookup;
namespace dkim = common::dkim;

namespace {

std::string safe(const std::string& s) { return terminal_safe(s); }

// Does the published text `found` carry the key of `want` (both key records)?
bool same_key(const std::string& found, const std::string& want) {
  auto f = dkim::parse_tags(found);
  auto w = dkim::parse_tags(want);
  if (!f || !w) return false;
  if (f->count("v") && (*f)["v"] != "DKIM1") return false;
  std::string fk = f->count("k") ? common::mail::lower((*f)["k"]) : "rsa";
  return fk == (*w)["k"] && f->count("p") && dkim::without_space((*f)["p"]) == (*w)["p"];
}

std::string publish(const std::string& domain, const DkimKeyCheck& k) {
  return dkim::txt_record_line(domain, k.selector, k.record);
}

void judge_key(const std::string& domain, const DkimKeyCheck& k, AuthReport* r) {
  std::string name = k.selector + "._domainkey." + domain;
  std::string what = k.selector + (k.active ? " (signs)" : " (retiring)");
  if (k.status == Lookup::kTempFail) {
    r->failures.push_back("TXT of " + safe(name) + ": " + safe(k.error));
    return;
  }
  bool match =
      std::any_of(k.found.begin(), k.found.end(), [&](const auto& f) { return same_key(f, k.record); });
  if (match && k.found.size() == 1) {
    r->lines.emplace_back("DKIM", what + ": published, matches the key");
    return;
  }
  if (k.found.empty()) {
    r->lines.emplace_back("DKIM", what + ": no record");
    r->problems.push_back("the DKIM key " + k.selector + " of " + safe(domain) +
                          " is not in the DNS; publish: " + publish(domain, k));
    return;
  }
  r->lines.emplace_back("DKIM", what + ": " + (match ? "more than one record" : "a record for another key"));
  r->problems.push_back(std::string(match ? "more than one TXT record at " : "the TXT record at ") +
                        safe(name) +
                        (match ? "; keep only: "
                               : " does not match the key that " +
                                     std::string(k.active ? "signs" : "signed") + "; publish instead: ") +
                        publish(domain, k));
}

void judge_dmarc(const std::string& domain, const AuthCheck& c, AuthReport* r) {
  if (c.dmarc_status == Lookup::kTempFail) {
    r->failures.push_back("TXT of _dmarc." + safe(domain) + ": " + safe(c.dmarc_error));
    return;
  }
  if (c.dmarc.empty()) {
    r->lines.emplace_back("DMARC", "none; to ask receivers for reports, publish: " + suggested_dmarc(domain));
    return;
  }
  if (c.dmarc.size() > 1) {
    r->lines.emplace_back("DMARC", std::to_string(c.dmarc.size()) + " records");
    r->problems.push_back(
        "_dmarc." + safe(domain) +
        " has more than one DMARC record, so receivers apply none (RFC 7489 6.6.3); keep one");
    return;
  }
  const std::string& text = c.dmarc.front();
  r->lines.emplace_back("DMARC", safe(text));
  auto tags = dkim::parse_tags(text);
  if (!tags) {
    r->problems.push_back("the DMARC record of " + safe(domain) + " does not parse: " + safe(tags.message()));
    return;
  }
  auto p = tags->find("p");
  if (p == tags->end() || (p->second != "none" && p->second != "quarantine" && p->second != "reject")) {
    r->problems.push_back("the DMARC record of " + safe(domain) +
                          " needs p=none, p=quarantine or p=reject right after v=DMARC1 (RFC 7489 6.3); "
                          "for example: " +
                          suggested_dmarc(domain));
    return;
  }
  if (c.dkim.empty() && p->second != "none")
    r->problems.push_back("the DMARC policy of " + safe(domain) + " is p=" + p->second +
                          ", but this server signs none of its mail (mailctl dkim generate " + safe(domain) +
                          "): mail that is forwarded on will fail DMARC");
}

}  // namespace

std::string suggested_dmarc(const std::string& domain) {
  return "_dmarc." + domain + ". IN TXT \"v=DMARC1; p=none; rua=mailto:postmaster@" + domain + "\"";
}

AuthReport evaluate_auth(const std::string& domain, const AuthCheck& c) {
  AuthReport r;
  if (!c.dkim_note.empty()) {
    r.lines.emplace_back("DKIM", "cannot read the key store: " + safe(c.dkim_note));
  } else if (c.dkim.empty()) {
    r.lines.emplace_back(
        "DKIM", "no key: this server signs none of its mail (mailctl dkim generate " + safe(domain) + ")");
  }
  for (const auto& k : c.dkim) judge_key(domain, k, &r);
  judge_dmarc(domain, c, &r);
  return r;
}

}  // namespace mailctl
