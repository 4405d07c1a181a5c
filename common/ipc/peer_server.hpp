// The server side of a daemon's private Unix socket (the authentication daemon's
// private/auth, the TLS key daemon's private/tlskey): accepts on a listening socket,
// asks the kernel who each peer is (SO_PEERCRED; a Hello's role is only a claim), lets
// in only the uids `allowed` accepts and at most `max_peers` at once, and gives each
// its own ipc::Channel. Frames reach the owner with the peer's id; a peer the owner
// drops, or one that breaks the frame protocol, is logged and closed, and its channel is
// destroyed outside its own callbacks, so a hostile peer never takes the daemon down.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/log/log.hpp"
#include "common/result.hpp"

namespace common::ipc {

class PeerServer {
 public:
  struct Peer {
    std::unique_ptr<Channel> ch;
    std::string who;  // "uid N pid M", for the log
    uid_t uid = 0;
  };
  struct Options {
    std::string name;      // the socket as the log names it: "private/auth"
    std::string protocol;  // the Hello protocol (kProtoAuth...)
    std::string role;      // our Hello role ("mailbag-auth")
    std::size_t max_peers = 32;
    std::function<bool(uid_t)> allowed;
    std::string refused;  // who may connect, for the refusal's log line: "not smtpd, pop3d or root"
  };
  // The frame and any descriptor that came with it (closed when dropped).
  using OnFrame = std::function<void(std::uint64_t peer, const FrameView& frame, io::UniqueFd passed)>;

  PeerServer(event_base* base, io::UniqueFd listener, Options options, OnFrame on_frame);
  ~PeerServer();
  PeerServer(const PeerServer&) = delete;
  PeerServer& operator=(const PeerServer&) = delete;

  // Starts accepting.
  Status start();
  // The peer, or nullptr when it is gone (answers that arrive late are dropped).
  Peer* find(std::uint64_t peer);
  // Closes a peer that broke the rules of the owner's protocol, with `why` in the log.
  void drop(std::uint64_t peer, const std::string& why);
  std::size_t size() const { return peers_.size(); }

 private:
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept;
  void on_accept(io::UniqueFd fd);

  event_base* base_;
  io::UniqueFd listen_fd_;
  Options opt_;
  OnFrame on_frame_;
  io::ListenerPtr listener_;
  std::map<std::uint64_t, Peer> peers_;
  std::uint64_t next_peer_ = 1;
  log::RateLimiter warn_{std::chrono::seconds(60)};
  io::Lifetime life_;
};

}  // namespace common::ipc
