// Implementation of the verdict texts (see verdicts.hpp).
#include "delivery/remote/verdicts.hpp"

namespace delivery::remote {

using common::mail::Outcome;
using common::mail::Verdict;

namespace {

// "host[ip]" without the port, as Postfix writes it in "host ... said".
std::string host_part(const std::string& peer) {
  auto colon = peer.rfind(':');
  auto bracket = peer.rfind(']');
  if (colon != std::string::npos && bracket != std::string::npos && colon > bracket)
    return peer.substr(0, colon);
  return peer;
}

}  // namespace

Verdict verdict_for(const common::smtp::Report& rep, const std::string& peer) {
  Verdict v;
  v.outcome = rep.outcome;
  v.status = rep.status;
  if (rep.reply) {
    v.text = rep.reply->summary() + " (host " + host_part(peer) + ", in reply to " +
             common::smtp::stage_name(rep.stage) + ")";
  } else {
    v.text = rep.detail + " (host " + host_part(peer) + ")";
  }
  if (v.status.empty())
    v.status = rep.outcome == Outcome::kOk ? "2.0.0" : rep.outcome == Outcome::kTemporary ? "4.0.0" : "5.0.0";
  // A reply's status class must match the outcome (a 4xx reply with "5.x.x" text would
  // otherwise bounce what should be retried).
  char want = rep.outcome == Outcome::kOk ? '2' : rep.outcome == Outcome::kTemporary ? '4' : '5';
  if (v.status[0] != want) v.status[0] = want;
  return v;
}

Verdict connect_failure(const std::string& peer, const std::string& why) {
  return Verdict{Outcome::kTemporary, "4.4.1", "connect to " + peer + ": " + why};
}

}  // namespace delivery::remote
