// The authentication daemon's loop: the listener on private/auth (made before the
// privilege drop), one Channel per peer (smtpd, pop3d, the POP3 mailbox process, Dovecot's
// passdb program for IMAP logins, with their limits and relay stamp in imap_gate.hpp), the
// Verifier's bounded work queue, and the one-time login tokens (tokens.hpp) issued with
// each good POP3 login and redeemed by the mailbox process. A peer whose uid the
// PeerPolicy does not allow is closed at accept; a frame that is not a well-formed
// request its uid may send closes its peer's connection (logged, never an abort); a check
// beyond the queue bound is answered "temporary failure" at once.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/auth/protocol.hpp"
#include "common/authd/imap_gate.hpp"
#include "common/authd/tokens.hpp"
#include "common/authd/verifier.hpp"
#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/peer_server.hpp"
#include "common/log/log.hpp"

namespace authd {

class Server {
 public:
  // Peers at once: smtpd and pop3d keep one connection each; tools and restarts a few.
  static constexpr std::size_t kMaxPeers = 64;
  // Replies a peer may leave unread before it is dropped (it asks without reading).
  static constexpr std::size_t kMaxUnread = 1024;

  Server(event_base* base, common::io::UniqueFd listener, common::auth::PeerPolicy policy,
         std::unique_ptr<Verifier> verifier, ImapGate::Settings imap);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  common::Status start();
  // A reload: the IMAP login failure limits (pop3d_auth_failure_limit, _block_time).
  void set_imap_limits(common::io::ClientLimits::Settings l) { imap_.set_limits(l); }

 private:
  void on_frame(std::uint64_t peer, const common::ipc::FrameView& f);
  void on_check(std::uint64_t peer, const common::ipc::FrameView& f);
  void on_redeem(std::uint64_t peer, const common::ipc::FrameView& f);
  void reply(std::uint64_t peer, std::uint64_t request_id, const Outcome& o, const std::string& token);
  static void prune_cb(evutil_socket_t, short, void* arg) noexcept;

  event_base* base_;
  common::auth::PeerPolicy policy_;
  std::unique_ptr<Verifier> verifier_;
  LoginTokens tokens_;
  ImapGate imap_;
  common::io::EventPtr prune_;
  common::ipc::PeerServer peers_;
  common::log::RateLimiter warn_{std::chrono::seconds(60)};
  common::io::Lifetime life_;  // guards the verifier's callbacks
};

}  // namespace authd
