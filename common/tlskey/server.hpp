// The TLS key daemon's loop: the listener on private/tlskey (made before the privilege
// drop), one Channel per peer (smtpd, pop3d), and the Signer. A peer whose uid the
// PeerPolicy does not allow is closed at accept; a frame that is not a well-formed KeyOp
// closes its peer's connection (logged, never an abort); a peer that leaves too many
// answers unread, or one past the peer limit, is dropped. Each operation takes about a
// millisecond (an RSA-2048 signature), so it is done at once, in order.
#pragma once

#include <event2/event.h>

#include <string>

#include "common/auth/protocol.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/peer_server.hpp"
#include "common/log/log.hpp"
#include "common/tlskey/signer.hpp"

namespace tlskey {

class Server {
 public:
  // Peers at once: smtpd and pop3d keep one connection each; restarts a few more.
  static constexpr std::size_t kMaxPeers = 32;
  // Answers a peer may leave unread before it is dropped (it asks without reading).
  static constexpr std::size_t kMaxUnread = 64;

  Server(event_base* base, common::io::UniqueFd listener, common::auth::PeerPolicy policy,
         std::string key_file, Signer signer);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  common::Status start();
  // Re-reads the key file (the reload hook, on SIGHUP); on failure the key held so far stays.
  void reload();

 private:
  void on_frame(std::uint64_t peer, const common::ipc::FrameView& f, bool passed_fd);

  event_base* base_;
  std::string key_file_;
  Signer signer_;
  common::ipc::PeerServer peers_;
  common::log::RateLimiter warn_{std::chrono::seconds(60)};
};

}  // namespace tlskey
