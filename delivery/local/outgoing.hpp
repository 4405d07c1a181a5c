// A message the local agent sends into the queue during a batch (a forward, an alias
// fan-out, an SRS return, an auto-reply, a quota warning): its envelope, the text in
// front (trace lines, or the whole composed message) and optionally the original
// message after it. Written into the drop directory and submitted by the Submitter.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "common/spool/origin.hpp"
#include "common/spool/queue_file.hpp"
#include "delivery/local/submitter.hpp"
#include "delivery/message.hpp"

namespace delivery::local {

struct Outgoing {
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);
  std::size_t slot = kNoSlot;  // the recipient it belongs to
  bool required = false;       // the recipient's delivery depends on it
  std::string kind;            // for the log: "forward", "auto-reply", ...
  common::spool::Envelope env;
  std::string head;                // text before the body, or the whole message
  std::optional<MessageRef> body;  // the original message, copied after `head`
  std::function<void()> on_sent;   // run once the queue manager has it
  common::io::UniqueFd fd;         // the finished queue file
  common::Status status;           // failure of writing or submitting
  bool submitted = false;
};

// The envelope "client" of the agent's own messages; only the agent may write it (smtpd
// and sendmail write their own, and the queue manager refuses it from them), so a quota
// warning can be told from any other mail (common/spool/origin.hpp).
inline constexpr const char* kClientLocal = "local delivery agent";
inline constexpr const char* kClientQuotaWarning = "local delivery agent (quota warning)";
static_assert(std::string_view(kClientLocal) == common::spool::kClientLocalAgent);
static_assert(std::string_view(kClientQuotaWarning).starts_with(common::spool::kClientLocalAgent));

// A fresh envelope for a message from the local agent.
common::spool::Envelope local_envelope(const std::string& sender, const std::vector<std::string>& rcpts,
                                       std::int64_t now, bool body_8bit, bool smtputf8);

// Writes the queue file (status set on failure).
void write_outgoing(Submitter& s, Outgoing& o);

}  // namespace delivery::local
