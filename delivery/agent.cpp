// Implementation of the agent's queue-manager connection (see agent.hpp).
// UNTRUSTED (mildly): frames come from the queue manager, a different user; a frame that
// does not decode is logged and the connection dropped and re-made.
#include "delivery/agent.hpp"

#include <algorithm>

#include "common/ipc/codec.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"

namespace delivery {

using common::Status;
namespace ipc = common::ipc;
namespace log = common::log;

AgentLink::AgentLink(event_base* base, std::string socket_path, std::string role, DeliverHandler on_deliver)
    : base_(base), path_(std::move(socket_path)), role_(std::move(role)), on_deliver_(std::move(on_deliver)) {
  retry_.reset(evtimer_new(base_, retry_cb, this));
  MB_CHECK(retry_ != nullptr, "evtimer_new for agent retry");
}

AgentLink::~AgentLink() { life_.end(); }

void AgentLink::start() { try_connect(); }

void AgentLink::retry_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<AgentLink*>(self)->try_connect();
}

void AgentLink::try_connect() {
  auto sock = ipc::connect_unix(path_);
  if (!sock) {
    // Once per outage, not once per second.
    announced_ = false;
    if (!warned_down_) {
      log::warn("queue manager not reachable (%s); retrying every second", sock.message().c_str());
      warned_down_ = true;
    }
    timeval one{1, 0};
    evtimer_add(retry_.get(), &one);
    return;
  }
  ++generation_;
  channel_ = std::make_unique<ipc::Channel>(
      base_, std::move(*sock), ipc::kProtoDeliver, role_,
      [this](const ipc::FrameView& f, common::io::UniqueFd fd) { on_frame(f, std::move(fd)); },
      [this](const Status& why) { on_close(why); });
  // Once per outage: a queue manager that accepts and drops us at once (say, because we
  // run as the wrong user) must not fill the log with a pair of lines every second.
  if (!announced_) log::info("connected to queue manager at %s", path_.c_str());
  announced_ = true;
}

void AgentLink::on_frame(const ipc::FrameView& f, common::io::UniqueFd fd) {
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kTurn) && on_turn_) {
    auto t = ipc::decode<ipc::Turn>(f);
    if (!t) {
      channel_->close(t.status());
      return;
    }
    on_turn_(std::move(*t), std::move(fd), generation_);
    return;
  }
  if (f.type != static_cast<std::uint16_t>(ipc::MsgType::kDeliver)) {
    channel_->close(Status::error("unexpected message type " + std::to_string(f.type)));
    return;
  }
  auto d = ipc::decode<ipc::Deliver>(f);
  if (!d) {
    channel_->close(d.status());
    return;
  }
  if (d->recipients.size() > kMaxRecipients) {
    log::error("%s: delivery request with %zu recipients (limit %zu); refused",
               log::printable(d->queue_id, 40).c_str(), d->recipients.size(), kMaxRecipients);
    ipc::DeliverDone done;
    done.delivery_id = d->delivery_id;
    done.results.assign(d->recipients.size(),
                        common::mail::Verdict{common::mail::Outcome::kTemporary, "4.3.0",
                                              "too many recipients in one delivery request"});
    send_done(done, generation_);
    return;
  }
  on_deliver_(std::move(*d), std::move(fd), generation_);
}

void AgentLink::on_close(const Status& why) {
  if (channel_->hello_done()) {
    log::warn("disconnected from queue manager: %s; reconnecting", why.message().c_str());
    announced_ = false;
    warned_down_ = false;
  } else if (!warned_down_) {
    log::warn("queue manager closed the connection before its hello (%s); retrying every second",
              why.message().c_str());
    warned_down_ = true;
  }
  // The Channel is inside its own callback: destroy it on the next loop turn.
  common::io::Guard alive = life_.guard();
  common::io::run_soon(base_, [this, alive] {
    if (!alive) return;
    channel_.reset();
    timeval one{1, 0};
    evtimer_add(retry_.get(), &one);
  });
}

bool AgentLink::send_done(const ipc::DeliverDone& done, std::uint64_t generation) {
  if (!current(generation)) return false;
  std::string frame = ipc::encode_frame(done);
  if (frame.size() > ipc::kMaxFrame) {
    ipc::DeliverDone small = done;
    for (auto& v : small.results) v.text.resize(std::min<std::size_t>(v.text.size(), 40));
    frame = ipc::encode_frame(small);
    if (frame.size() > ipc::kMaxFrame) {
      for (auto& v : small.results) v.text.clear();
      frame = ipc::encode_frame(small);
    }
    if (frame.size() > ipc::kMaxFrame) {
      channel_->close(Status::error("answer to delivery " + std::to_string(done.delivery_id) +
                                    " does not fit in one frame"));
      return false;
    }
  }
  channel_->send_raw(std::move(frame), common::io::UniqueFd());
  return true;
}

}  // namespace delivery
