// Who wrote a queued message, and the envelope labels that say so (mailbag-queue(5)).
// Some labels carry privileges: the local agent lets its own quota warning into a full
// mailbox, and the queue manager sends its own failed bounce to postmaster. So only the
// writer a label names may put it on a file: the queue manager refuses such a file from
// any other submitter (it knows the local agent by its uid), which keeps every label in
// spool/queue true, and it tells the agents the origin in each Deliver request.
#pragma once

#include <cstdint>
#include <string_view>

namespace common::spool {

enum class Origin : std::uint8_t {
  kSubmitter = 0,     // smtpd, sendmail: anything a member of group mb-drop can write
  kLocalAgent = 1,    // the local agent's forwards, auto-replies and quota warnings
  kQueueManager = 2,  // the queue manager's notices (bounces, delay warnings)
};
inline bool valid_enum(Origin o) { return static_cast<std::uint8_t>(o) <= 2; }
const char* origin_name(Origin o);

// Protocols ("P") of the mail system's own messages. sendmail writes "local" too; the
// local agent's messages are told apart by their client ("C") as well.
inline constexpr const char* kProtocolLocal = "local";
inline constexpr const char* kProtocolBounce = "bounce";  // the queue manager's notices
inline constexpr const char* kProtocolDoubleBounce = "double-bounce";
inline constexpr std::string_view kClientLocalAgent = "local delivery agent";

// The writer an envelope's labels claim.
Origin claimed_origin(std::string_view protocol, std::string_view client);

// Whether a file from `writer` may carry labels that claim `claimed`: the labels of an
// ordinary submitter's message claim nothing, and only the writer they name may claim more.
inline bool may_claim(Origin writer, Origin claimed) {
  return claimed == Origin::kSubmitter || claimed == writer;
}

}  // namespace common::spool
