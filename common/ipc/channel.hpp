// Channel: one connected internal socket driven by libevent. It sends and checks the
// Hello that opens every connection, queues outgoing frames (each with an optional fd)
// while the socket is full, and hands each incoming frame to the owner. A malformed
// frame from the peer is logged and closes the channel; the process carries on.
#pragma once

#include <event2/event.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"

namespace common::ipc {

class Channel {
 public:
  // Called for every frame after the Hello; `fd` is the passed descriptor, if any.
  using FrameHandler = std::function<void(const FrameView& frame, io::UniqueFd fd)>;
  // Called once when the channel is closed (peer gone, protocol error), always on a later
  // turn of the loop, never from inside send(), close() or the constructor, so owners
  // may destroy the Channel in it. Not called if the Channel is destroyed first.
  using CloseHandler = std::function<void(const Status& why)>;

  Channel(event_base* base, io::UniqueFd sock, std::string protocol, std::string my_role,
          FrameHandler on_frame, CloseHandler on_close);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Queues one message (and a descriptor to pass, which the channel then owns).
  template <class T>
  void send(const T& msg, io::UniqueFd fd = io::UniqueFd()) {
    send_raw(encode_frame(msg), std::move(fd));
  }
  void send_raw(std::string frame, io::UniqueFd fd);

  // Called once, when the peer's Hello has been checked (the channel is then usable).
  void set_on_hello(std::function<void()> fn) { on_hello_ = std::move(fn); }

  bool open() const { return open_; }
  bool hello_done() const { return peer_hello_; }
  const std::string& peer_role() const { return peer_role_; }
  std::size_t queued() const { return out_.size(); }
  void close(const Status& why);

 private:
  static void on_read_cb(evutil_socket_t, short, void* self) noexcept;
  static void on_write_cb(evutil_socket_t, short, void* self) noexcept;
  void on_read();
  void flush();

  struct Out {
    std::string frame;
    io::UniqueFd fd;
  };

  event_base* base_;
  io::UniqueFd sock_;
  std::string protocol_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::function<void()> on_hello_;
  common::io::Lifetime life_;  // guards deferred callbacks
  io::EventPtr rev_, wev_;
  std::deque<Out> out_;
  bool open_ = true;
  bool peer_hello_ = false;
  std::string peer_role_;
};

}  // namespace common::ipc
