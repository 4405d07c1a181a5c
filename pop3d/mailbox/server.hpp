// The POP3 mailbox process (program pop3-mailbox): the half of POP3 that holds the
// Maildirs (group mb-mail) and no network socket. pop3d, the login process, hands each
// client whose password the authentication daemon accepted over private/pop3-mailbox
// (Pop3Handover, with the client's descriptor); this process redeems the login token
// with the daemon (AuthRedeem), which answers with the account's Maildir, opens that one
// maildrop, and serves the TRANSACTION and UPDATE states (RFC 1939 5, 6) with the same
// Connection and Session code as pop3d. A peer whose uid is not pop3d's (SO_PEERCRED),
// and any malformed frame or wrong descriptor, is logged and dropped; nothing aborts.
#pragma once

#include <event2/listener.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/auth/client.hpp"
#include "common/config/config.hpp"
#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/io/work_queue.hpp"
#include "common/ipc/channel.hpp"
#include "common/log/log.hpp"
#include "pop3d/handover.hpp"
#include "pop3d/host.hpp"
#include "pop3d/maildrop.hpp"

namespace pop3d::mailbox {

class Server final : public Host {
 public:
  // Maildrop openings and UPDATEs at once: they mostly wait for the disk (renames,
  // unlinks, fsync), so more of them than cores.
  static constexpr std::size_t kDiskThreads = 8;
  // pop3d keeps one connection; restarts and tools a few more.
  static constexpr std::size_t kMaxPeers = 16;

  Server(const common::config::Config& cfg, event_base* base, common::io::UniqueFd listener,
         HandoverPolicy policy);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  common::Status start();

  // Host (host.hpp).
  const common::config::Config& cfg() const override { return cfg_; }
  event_base* base() const override { return base_; }
  SSL_CTX* tls() const override { return nullptr; }  // pop3d keeps TLS and relays it
  Connection* find(std::uint64_t id) override;
  void release(std::uint64_t id) override;
  common::io::WorkQueue& disk() override { return disk_; }
  common::log::RateLimiter& warn_limit() override { return warn_; }
  std::string& read_buffer() override { return read_buf_; }
  std::string& wire_buffer() override { return wire_buf_; }
  // Never asked here (sessions start logged in); answered as a temporary failure.
  void authenticate(std::uint64_t conn_id, const std::string& user, const std::string& password) override;
  void hand_over(std::uint64_t conn_id, HandoverRequest req) override;

 private:
  struct Peer {
    std::unique_ptr<common::ipc::Channel> ch;
    std::string who;  // "uid N pid M"
  };
  // A handover between its frame and the start of its session.
  struct Pending {
    std::uint64_t peer = 0;
    common::ipc::Pop3Handover h;
    common::io::UniqueFd fd;
  };
  struct Session {
    std::uint64_t peer = 0;
    std::uint64_t request_id = 0;
  };

  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept;
  void on_accept(common::io::UniqueFd fd);
  void on_frame(std::uint64_t peer, const common::ipc::FrameView& f, common::io::UniqueFd fd);
  void drop_peer(std::uint64_t peer, const std::string& why);
  void redeemed(std::shared_ptr<Pending> p, const common::auth::Verdict& v);
  void opened(std::shared_ptr<Pending> p, common::Result<std::unique_ptr<Maildrop>> drop,
              Maildrop::OpenError why);
  void answer(const Pending& p, common::ipc::HandoverResult r);

  const common::config::Config& cfg_;
  event_base* base_;
  common::io::UniqueFd listen_fd_;
  HandoverPolicy policy_;
  common::auth::Client auth_;
  common::io::WorkQueue disk_;
  common::io::ListenerPtr listener_;
  std::map<std::uint64_t, Peer> peers_;
  std::uint64_t next_peer_ = 1;
  std::size_t in_flight_ = 0;  // handovers between frame and session
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  std::unordered_map<std::uint64_t, Session> sessions_;  // by connection id
  std::uint64_t next_id_ = 1;
  common::log::RateLimiter warn_{std::chrono::seconds(60)};
  std::string read_buf_;
  std::string wire_buf_;
  common::io::Lifetime life_;
};

}  // namespace pop3d::mailbox
