// A queued message as the queue manager holds it in memory, and the record that keeps
// its delivery state across restarts (state/queue.mdb). The envelope itself lives in the
// queue file; the record repeats it so that a restart over a large deferred queue needs
// only one database scan, not one file read per message.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/spool/origin.hpp"

namespace common::spool {
struct ParsedEnvelope;
}

namespace qmgr {

enum class RcptState : std::uint8_t { kPending = 0, kInFlight = 1, kDone = 2, kFailed = 3 };
inline bool valid_enum(RcptState s) { return static_cast<std::uint8_t>(s) <= 3; }

struct Rcpt {
  std::string address;
  RcptState state = RcptState::kPending;
  std::uint32_t attempts = 0;
  std::string status;  // last enhanced status code, e.g. "4.4.1"
  std::string text;    // last diagnostic, for deferral logs and bounces
  // Not persisted: an attempt may have delivered it without our hearing of it (recovered
  // after a crash, or its agent died); the next attempt asks the agent to check.
  bool maybe_delivered = false;
  // Not persisted: the next hop offered DSN and took this recipient's DSN duties on
  // (RFC 3461 5.2.1), so we send no success notice of our own for it. Lost across a
  // restart, at worst a "relayed" notice then comes in addition to the next hop's.
  bool dsn_passed = false;
  template <class F>
  void fields(F& f) {
    f(address);
    f(state);
    f(attempts);
    f(status);
    f(text);
  }
};

struct Message {
  std::uint32_t version = 1;
  std::string id;
  std::int64_t arrival = 0;
  std::string sender;
  std::string protocol;
  std::string client;
  std::uint64_t data_offset = 0;
  std::uint64_t data_size = 0;
  std::uint64_t data_lines = 0;
  bool body_8bit = false;
  bool smtputf8 = false;
  std::vector<Rcpt> rcpts;
  std::int64_t next_try = 0;   // UNIX time of the next attempt (0: now)
  std::uint32_t attempts = 0;  // delivery rounds that ended in a deferral
  bool hold = false;           // administratively held: never scheduled
  bool warned = false;         // a delay warning went to the sender
  // Not persisted:
  std::string hold_reason;        // a mail filter's quarantine reason (the file's H record)
  int in_flight = 0;              // deliveries outstanding for this message
  int agent_crashes = 0;          // agent died while delivering it (poison-message guard)
  bool has_record = false;        // a state record exists in queue.mdb
  bool scheduled = false;         // sits in the ready list or the deferred map
  bool doomed = false;            // deleted by the administrator while in flight
  std::uint8_t waiting_mask = 0;  // transports that had no agent with room this round
  bool round_deferred = false;    // a temporary failure came back this round
  // Whether the queue file carries DSN requests (RFC 3461 NOTIFY, RET, ENVID, ORCPT):
  // known at intake; a message rebuilt from its state record does not know, and the
  // queue manager reads its file when a notice may be due.
  enum class Dsn : std::uint8_t { kNone, kAsked, kUnknown };
  Dsn dsn = Dsn::kUnknown;

  // Persisted fields (the record); in-memory bookkeeping stays out.
  template <class F>
  void fields(F& f) {
    f(version);
    f(id);
    f(arrival);
    f(sender);
    f(protocol);
    f(client);
    f(data_offset);
    f(data_size);
    f(data_lines);
    f(body_8bit);
    f(smtputf8);
    f(rcpts);
    f(next_try);
    f(attempts);
    f(hold);
    f(warned);
  }

  // Who wrote the file. Its labels say so truthfully: intake refuses a file whose labels
  // claim a writer other than its submitter (common/spool/origin.hpp).
  common::spool::Origin origin() const { return common::spool::claimed_origin(protocol, client); }

  bool finished() const {
    for (const auto& r : rcpts)
      if (r.state == RcptState::kPending || r.state == RcptState::kInFlight) return false;
    return true;
  }
};

// A fresh message (every recipient pending) from a validated queue file envelope.
std::unique_ptr<Message> from_envelope(const common::spool::ParsedEnvelope& pe);

}  // namespace qmgr
