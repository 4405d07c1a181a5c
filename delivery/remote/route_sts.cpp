// Implementation of MTA-STS enforcement on a route (see route_sts.hpp).
#include "delivery/remote/route_sts.hpp"

namespace delivery::remote {

using common::mail::Outcome;
using common::mail::Verdict;

std::vector<std::string> apply_sts(const std::string& domain, const StsPolicy& policy, Route* route) {
  std::vector<std::string> notes;
  if (policy.mode == StsMode::kNone) return notes;
  for (const auto& ep : route->endpoints)
    if (ep.dane.mode != DaneMode::kNone) {
      notes.push_back("DANE applies to " + ep.host + ": the MTA-STS policy is not used (RFC 8461 2)");
      return notes;
    }
  std::vector<Endpoint> kept;
  std::string last_host;
  for (auto& ep : route->endpoints) {
    bool listed = !ep.host.empty() && sts_policy_allows(policy, ep.host);
    bool report = ep.host != last_host;
    last_host = ep.host;
    if (!listed && policy.mode == StsMode::kEnforce) {
      if (report)
        notes.push_back("MX host " + ep.host + " is not in the policy (mx: " + sts_mx_list(policy) +
                        "), not used");
      continue;
    }
    if (!listed && report)
      notes.push_back("testing: MX host " + ep.host + " is not in the policy (mx: " + sts_mx_list(policy) +
                      "); used, since the mode is testing");
    ep.sts = policy.mode;
    ep.sts_listed = listed;
    kept.push_back(std::move(ep));
  }
  route->endpoints = std::move(kept);
  if (route->endpoints.empty()) {
    route->failure = Verdict{Outcome::kTemporary, "4.7.5",
                             "MTA-STS: no MX host of " + domain +
                                 " matches its policy (mx: " + sts_mx_list(policy) + ", mode enforce)"};
  }
  return notes;
}

}  // namespace delivery::remote
