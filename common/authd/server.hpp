// The authentication daemon's loop: the listener on private/auth (made before the
// privilege drop), one Channel per peer (smtpd, pop3d, the POP3 mailbox process), the
// Verifier's bounded work queue, and the one-time login tokens (tokens.hpp) issued with
// each good POP3 login and redeemed by the mailbox process. A peer whose uid the
// PeerPolicy does not allow is closed at accept; a frame that is not a well-formed
// request its uid may send closes its peer's connection (logged, never an abort); a check
// beyond the queue bound is answered "temporary failure" at once.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/auth/protocol.hpp"
#include "common/authd/tokens.hpp"
#include "common/authd/verifier.hpp"
#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/log/log.hpp"

namespace authd {

class Server {
 public:
  // Peers at once: smtpd and pop3d keep one connection each; tools and restarts a few.
  static constexpr std::size_t kMaxPeers = 64;
  // Replies a peer may leave unread before it is dropped (it asks without reading).
  static constexpr std::size_t kMaxUnread = 1024;

  Server(event_base* base, common::io::UniqueFd listener, common::auth::PeerPolicy policy,
         std::unique_ptr<Verifier> verifier);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  common::Status start();

 private:
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept;
  void on_accept(common::io::UniqueFd fd);
  void on_frame(std::uint64_t peer, const common::ipc::FrameView& f);
  void on_check(std::uint64_t peer, const common::ipc::FrameView& f);
  void on_redeem(std::uint64_t peer, const common::ipc::FrameView& f);
  void reply(std::uint64_t peer, std::uint64_t request_id, const Outcome& o, const std::string& token);
  void drop_peer(std::uint64_t peer, const std::string& why);

  struct Peer {
    std::unique_ptr<common::ipc::Channel> ch;
    std::string who;  // "uid N pid M", for the log
    uid_t uid = 0;
  };

  event_base* base_;
  common::io::UniqueFd listen_fd_;
  common::auth::PeerPolicy policy_;
  std::unique_ptr<Verifier> verifier_;
  LoginTokens tokens_;
  common::io::ListenerPtr listener_;
  std::map<std::uint64_t, Peer> peers_;
  std::uint64_t next_peer_ = 1;
  common::log::RateLimiter warn_{std::chrono::seconds(60)};
  common::io::Lifetime life_;  // guards the verifier's callbacks
};

}  // namespace authd
