// Implementation of check-dns's MTA-STS and TLS reporting judgement (see dns_sts.hpp).
// Texts from the DNS and the policy host pass through terminal_safe() before they are
// shown.
#include "mailctl/dns_sts.hpp"

#include "common/mail/ascii.hpp"
#include "common/tlsrpt/txt.hpp"
#include "delivery/remote/http_response.hpp"
#include "delivery/remote/mta_sts_policy.hpp"
#include "mailctl/queue_format.hpp"

namespace mailctl {

using common::dns::Lookup;
namespace remote = delivery::remote;

namespace {

std::string safe(const std::string& s) { return terminal_safe(s); }

bool missing(Lookup s) { return s == Lookup::kNoData || s == Lookup::kNxDomain; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + safe(s);
  return out;
}

std::string policy_url(const std::string& domain) {
  return "https://mta-sts." + domain + "/.well-known/mta-sts.txt";
}

void judge_policy(const std::string& domain, const StsDnsCheck& c, const std::vector<std::string>& mx,
                  StsReport* r) {
  auto id = remote::parse_sts_txt(c.txt);
  if (!id) {
    r->lines.emplace_back("MTA-STS", "unusable TXT record");
    r->problems.push_back("_mta-sts." + safe(domain) + ": " + safe(id.message()) +
                          ", so senders apply no policy (RFC 8461 3.1); publish one record: " +
                          suggested_sts_txt(domain, c.new_id));
    return;
  }
  std::string what = "the MTA-STS policy of " + safe(domain) + " (" + policy_url(domain) + ")";
  if (!c.fetch_error.empty()) {
    r->lines.emplace_back("MTA-STS", "id " + safe(*id) + "; policy not fetched");
    r->problems.push_back(what + " cannot be fetched: " + safe(c.fetch_error) +
                          "; senders without a cached copy apply none (RFC 8461 5). Serve over HTTPS, with "
                          "a certificate for mta-sts." +
                          safe(domain) + ", as text/plain:\n" + suggested_sts_policy(mx));
    return;
  }
  auto resp = remote::parse_http_response(c.response);
  std::string bad = resp ? remote::sts_response_problem(*resp) : resp.message();
  auto p = bad.empty() ? remote::parse_sts_policy(resp->body)
                       : common::Result<remote::StsPolicy>(common::Status::error(bad));
  if (!p) {
    r->lines.emplace_back("MTA-STS", "id " + safe(*id) + "; unusable policy");
    r->problems.push_back(what + " is unusable: " + safe(p.message()) + "; serve instead:\n" +
                          suggested_sts_policy(mx));
    return;
  }
  r->lines.emplace_back("MTA-STS", "id " + safe(*id) + ", mode " + remote::sts_mode_name(p->mode) +
                                       ", max_age " + std::to_string(p->max_age) + ", mx " +
                                       safe(remote::sts_mx_list(*p)));
  if (p->mode == remote::StsMode::kNone) return;
  std::vector<std::string> uncovered;
  for (const auto& h : mx)
    if (!remote::sts_policy_allows(*p, h)) uncovered.push_back(h);
  if (!uncovered.empty())
    r->problems.push_back("MX host" + std::string(uncovered.size() == 1 ? " " : "s ") + join(uncovered) +
                          (uncovered.size() == 1 ? " is" : " are") + " not named by " + what +
                          (p->mode == remote::StsMode::kEnforce
                               ? ": senders refuse to deliver there"
                               : ": under mode enforce senders would refuse it") +
                          " (RFC 8461 4.1); add an mx: line for each, then a new id in the TXT record");
  if (p->max_age < 86400)
    r->problems.push_back(what + " has max_age " + std::to_string(p->max_age) +
                          ": shorter than a day, senders keep it too briefly to help (RFC 8461 3.2 suggests "
                          "weeks)");
}

void judge_tlsrpt(const std::string& domain, const StsDnsCheck& c, StsReport* r) {
  if (c.rpt_status == Lookup::kTempFail) {
    r->failures.push_back("TXT of _smtp._tls." + safe(domain) + ": " + safe(c.rpt_error));
    return;
  }
  bool any = false;
  for (const auto& t : c.rpt) any = any || t.rfind("v=TLSRPTv1", 0) == 0;
  if (missing(c.rpt_status) || !any) {
    r->lines.emplace_back(
        "TLS-RPT", "none; to receive senders' TLS reports (RFC 8460), publish: " + suggested_tlsrpt(domain));
    return;
  }
  auto rec = common::tlsrpt::parse_tlsrpt_txt(c.rpt);
  if (rec && rec->mailto.empty() && rec->https.empty())
    rec = common::Status::error("no mailto: or https: address in rua");
  if (!rec) {
    r->lines.emplace_back("TLS-RPT", "unusable record");
    r->problems.push_back(
        "_smtp._tls." + safe(domain) + ": " + safe(rec.message()) +
        ", so senders send no reports (RFC 8460 3); publish instead: " + suggested_tlsrpt(domain));
    return;
  }
  std::vector<std::string> to = rec->mailto;
  to.insert(to.end(), rec->https.begin(), rec->https.end());
  r->lines.emplace_back("TLS-RPT", "reports to " + join(to));
}

}  // namespace

bool sts_announced(const StsDnsCheck& c) {
  return c.txt_status == Lookup::kOk && remote::parse_sts_txt(c.txt).is_ok();
}

std::string suggested_sts_txt(const std::string& domain, const std::string& id) {
  return "_mta-sts." + domain + ". IN TXT \"v=STSv1; id=" + id + "\"";
}

std::string suggested_sts_policy(const std::vector<std::string>& mx_hosts) {
  // Indented under the report's values, one line of the file per line.
  const std::string in(13, ' ');
  std::string out = in + "version: STSv1\n" + in + "mode: testing\n";
  for (const auto& h : mx_hosts) out += in + "mx: " + safe(h) + "\n";
  return out + in + "max_age: 604800";
}

std::string suggested_tlsrpt(const std::string& domain) {
  return "_smtp._tls." + domain + ". IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@" + domain + "\"";
}

StsReport evaluate_sts(const std::string& domain, const StsDnsCheck& c,
                       const std::vector<std::string>& mx_hosts) {
  StsReport r;
  bool any = false;
  for (const auto& t : c.txt) any = any || common::mail::lower(t.substr(0, 7)) == "v=stsv1";
  if (c.txt_status == Lookup::kTempFail) {
    r.failures.push_back("TXT of _mta-sts." + safe(domain) + ": " + safe(c.txt_error));
  } else if (missing(c.txt_status) || !any) {
    r.lines.emplace_back("MTA-STS",
                         "none; to have senders require verified TLS to the MX hosts (RFC 8461), publish " +
                             suggested_sts_txt(domain, c.new_id) + " and serve at " + policy_url(domain) +
                             " (HTTPS, a certificate for mta-sts." + safe(domain) + ", text/plain):\n" +
                             suggested_sts_policy(mx_hosts));
  } else {
    judge_policy(domain, c, mx_hosts, &r);
  }
  judge_tlsrpt(domain, c, &r);
  return r;
}

}  // namespace mailctl
