// Envelope labels and the writer they claim (origin.hpp).
#include "common/spool/origin.hpp"

namespace common::spool {

const char* origin_name(Origin o) {
  switch (o) {
    case Origin::kSubmitter: return "submitter";
    case Origin::kLocalAgent: return "local agent";
    case Origin::kQueueManager: return "queue manager";
  }
  return "?";
}

Origin claimed_origin(std::string_view protocol, std::string_view client) {
  if (protocol == kProtocolBounce || protocol == kProtocolDoubleBounce) return Origin::kQueueManager;
  if (protocol == kProtocolLocal && client.starts_with(kClientLocalAgent)) return Origin::kLocalAgent;
  return Origin::kSubmitter;
}

}  // namespace common::spool
