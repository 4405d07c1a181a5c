// Verdicts to SMTP replies (see check_policy.hpp). Codes: RFC 7372 (5.7.23 SPF failed,
// 4.7.24 SPF temporary error), RFC 7489 10.3 (DMARC rejection, 550 5.7.1), RFC 3463.
#include "smtpd/check_policy.hpp"

namespace smtpd {
namespace {

using common::checks::ResInfo;

const ResInfo* find(const common::ipc::CheckDone& v, const char* method, const char* property) {
  for (const auto& r : v.results) {
    if (r.method != method) continue;
    if (!property) return &r;
    for (const auto& p : r.props)
      if (p.property == property) return &r;
  }
  return nullptr;
}

bool any_temperror(const common::ipc::CheckDone& v, const char* method) {
  for (const auto& r : v.results)
    if (r.method == method && r.result == "temperror") return true;
  return false;
}

std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 120) break;
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

}  // namespace

std::optional<Reply> mail_check_reply(const common::ipc::CheckDone& v, const ChecksConfig& c,
                                      const std::string& client_ip) {
  if (c.dnsbl && v.dnsbl == 1)
    return make_reply(554, "5.7.1",
                      "Service unavailable; client [" + client_ip + "] blocked using " + safe(v.dnsbl_zone));
  if (c.dnsbl && v.dnsbl == 3 && c.temperror_defer)
    return make_reply(451, "4.7.1", "Service unavailable; DNS list lookup failed, try again later");
  if (c.spf) {
    const ResInfo* spf = find(v, "spf", "mailfrom");
    if (spf && spf->result == "fail" && c.spf_reject_fail)
      return make_reply(
          550, "5.7.23",
          "SPF validation failed: " + safe(spf->comment.empty() ? "sender not authorized" : spf->comment));
    if (spf && spf->result == "temperror" && c.temperror_defer)
      return make_reply(451, "4.7.24", "SPF validation error: temporary DNS failure, try again later");
  }
  if (c.temperror_defer && any_temperror(v, "checks"))
    return make_reply(451, "4.7.1", "Checks unavailable, try again later");
  return std::nullopt;
}

std::optional<Reply> data_check_reply(const common::ipc::CheckDone& v, const ChecksConfig& c) {
  const ResInfo* dmarc = find(v, "dmarc", nullptr);
  if (dmarc && dmarc->result == "fail" && v.dmarc_policy == "reject" && c.dmarc_reject) {
    std::string domain;
    for (const auto& p : dmarc->props)
      if (p.property == "from") domain = p.value;
    return make_reply(550, "5.7.1", "Email rejected per DMARC policy for " + safe(domain));
  }
  if (c.temperror_defer &&
      (any_temperror(v, "dmarc") || any_temperror(v, "dkim") || any_temperror(v, "checks")))
    return make_reply(451, "4.7.1", "Temporary failure of the DKIM/DMARC checks, try again later");
  return std::nullopt;
}

bool junk(const common::ipc::CheckDone& v, const ChecksConfig& c) {
  const ResInfo* dmarc = find(v, "dmarc", nullptr);
  return c.dmarc_quarantine && dmarc && dmarc->result == "fail" && v.dmarc_policy == "quarantine";
}

common::ipc::CheckDone unanswered(common::ipc::CheckStage stage, const ChecksConfig&) {
  common::ipc::CheckDone v;
  if (stage == common::ipc::CheckStage::kConnect) v.dnsbl = 3;
  v.results.push_back({"checks", "temperror", "the checks process did not answer", {}});
  return v;
}

std::string describe(const ResInfo& r) {
  std::string out = safe(r.method) + "=" + safe(r.result);
  for (const auto& p : r.props) out += " " + safe(p.ptype) + "." + safe(p.property) + "=" + safe(p.value);
  if (!r.comment.empty()) out += " (" + safe(r.comment) + ")";
  return out;
}

}  // namespace smtpd
