// The delivery agent's side of the queue manager's delivery socket (private/local or
// private/remote, protocol mailbag-deliver), shared by local and remote. The agent
// connects (the queue manager listens), retries every second while the queue manager is
// down, decodes each Deliver and hands it on with its fd, and sends DeliverDone back.
// Answers for a connection that has since closed are dropped: the queue manager puts
// every unanswered delivery back in its queue when an agent goes away.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/ipc/messages.hpp"

namespace delivery {

class AgentLink {
 public:
  // `generation` identifies the connection the request arrived on; pass it back to
  // send_done(). `fd` is the queue file (may be invalid if the peer sent none).
  using DeliverHandler =
      std::function<void(common::ipc::Deliver msg, common::io::UniqueFd fd, std::uint64_t generation)>;

  // An ODMR connection (remote only): `fd` the client's relayed connection.
  using TurnHandler =
      std::function<void(common::ipc::Turn msg, common::io::UniqueFd fd, std::uint64_t generation)>;

  AgentLink(event_base* base, std::string socket_path, std::string role, DeliverHandler on_deliver);
  // Takes Turn messages too (the local agent gets none: a Turn closes its channel).
  void set_turn_handler(TurnHandler on_turn) { on_turn_ = std::move(on_turn); }
  ~AgentLink();
  AgentLink(const AgentLink&) = delete;
  AgentLink& operator=(const AgentLink&) = delete;

  // Connects now, or keeps retrying every second.
  void start();
  bool connected() const { return channel_ != nullptr && channel_->open(); }
  // True if requests from `generation` can still be answered.
  bool current(std::uint64_t generation) const { return connected() && generation == generation_; }
  // Sends the answer if its connection is still the current one; returns false (and
  // drops it) otherwise. An answer too large for one frame loses its texts first
  // (outcomes and status codes always fit for up to kMaxRecipients recipients).
  bool send_done(const common::ipc::DeliverDone& done, std::uint64_t generation);

  // The most recipients a Deliver may carry: the answer must fit in one frame
  // (documented in mailbag-ipc(7) and local(8)).
  static constexpr std::size_t kMaxRecipients = 1000;

 private:
  static void retry_cb(evutil_socket_t, short, void* self) noexcept;
  void try_connect();
  void on_frame(const common::ipc::FrameView& f, common::io::UniqueFd fd);
  void on_close(const common::Status& why);

  event_base* base_;
  std::string path_;
  std::string role_;
  DeliverHandler on_deliver_;
  TurnHandler on_turn_;
  std::unique_ptr<common::ipc::Channel> channel_;
  common::io::EventPtr retry_;
  std::uint64_t generation_ = 0;
  bool announced_ = false;    // "connected" logged for the current run of good connections
  bool warned_down_ = false;  // the current outage has been logged
  // Set while this object lives; deferred callbacks check it (they may outlive us).
  common::io::Lifetime life_;
};

}  // namespace delivery
