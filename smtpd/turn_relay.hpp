// The ODMR relay (RFC 2645 5.3): once an ATRN is answered 250 the roles turn, and the
// client's connection (TLS, which smtpd keeps) is relayed byte for byte to one end of a
// socket pair whose other end the queue manager gave the remote agent, which runs its
// SMTP client session over it. Bounded both ways: the side that is not read stops
// being read from. Ends when either side closes; the Connection then closes the other.
// UNTRUSTED: both sides' bytes are only copied, never parsed.
#pragma once

#include <event2/bufferevent.h>

#include <functional>
#include <string>

#include "common/io/event.hpp"
#include "common/io/stream.hpp"
#include "common/io/unique_fd.hpp"

namespace smtpd {

class TurnRelay {
 public:
  // `done` is called once, from the loop, when the agent's side closes or fails.
  TurnRelay(event_base* base, common::io::Stream& client, common::io::UniqueFd pair,
            std::function<void(const char* why)> done);
  ~TurnRelay();
  TurnRelay(const TurnRelay&) = delete;
  TurnRelay& operator=(const TurnRelay&) = delete;

  // Starts relaying, first `pending` (what the session read past the ATRN line). False
  // if the socket pair cannot be used.
  bool start(const std::string& pending);
  // The client side's events, from the Connection.
  void client_readable();
  void client_drained();
  // Bytes relayed each way, for the log line at the end.
  std::uint64_t to_agent() const { return to_agent_; }
  std::uint64_t to_client() const { return to_client_; }

 private:
  static void on_read_cb(bufferevent*, void* self) noexcept;
  static void on_write_cb(bufferevent*, void* self) noexcept;
  static void on_event_cb(bufferevent*, short what, void* self) noexcept;
  void update();

  common::io::Stream& client_;
  common::io::BufferEventPtr bev_;
  std::function<void(const char*)> done_;
  bool ended_ = false;
  std::uint64_t to_agent_ = 0, to_client_ = 0;
};

}  // namespace smtpd
