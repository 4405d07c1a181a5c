// The smtpd process around its sessions: what is opened before the privilege drop
// (pre_jail), the listeners and accept (with smtpd_max_sessions), ownership of the
// Connections, and the one channel to the queue manager (private/submit) that carries
// every submission, reconnected every second while the queue manager is down.
#pragma once

#include <event2/listener.h>

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/config/config.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/spool/layout.hpp"
#include "common/tls/tls.hpp"
#include "smtpd/accounts_directory.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

// Everything smtpd needs that its unprivileged user could not open itself.
struct PreJail {
  std::vector<common::io::UniqueFd> listeners;  // bound and listening (port 25 needs root)
  common::io::UniqueFd incoming;  // O_RDONLY|O_DIRECTORY of spool/incoming
  common::tls::SslCtxPtr tls;     // null when no certificate is configured
  std::unique_ptr<common::accounts::Accounts> accounts;  // null if it could not be opened
};

// Opens all of the above; exits with a sysexits code when something required fails.
PreJail pre_jail(const common::config::Config& cfg);
// The event loop until SIGTERM/SIGINT; returns the process exit code.
int run(const common::config::Config& cfg, PreJail pre);

class Connection;

class Server : public Backend {
 public:
  Server(event_base* base, const common::config::Config& cfg, PreJail pre);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();

  // Backend, shared by every session.
  Directory& directory() override { return directory_; }
  common::Result<common::spool::QueueFileWriter> create_queue_file(
      const common::spool::Envelope& env) override;
  std::int64_t now() override;
  std::string new_queue_id() override;

  // For connections.
  event_base* base() const { return base_; }
  const common::config::Config& config() const { return cfg_; }
  const SessionConfig& session_config() const { return session_cfg_; }
  SSL_CTX* tls_ctx() const { return tls_.get(); }
  // Hands a finished queue file to the queue manager. Returns the request id, or 0 when
  // the queue manager is not connected (the caller answers 451 at once).
  std::uint64_t submit(std::uint64_t conn_id, Submission s);
  // The connection no longer waits for this answer (timeout or gone).
  void forget_request(std::uint64_t request_id);
  // Destroys the connection on the next loop turn.
  void release(std::uint64_t conn_id);

 private:
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int len, void* self) noexcept;
  static void accept_error_cb(evconnlistener*, void* self) noexcept;
  static void reconnect_cb(evutil_socket_t, short, void* self) noexcept;
  static void resume_accept_cb(evutil_socket_t, short, void* self) noexcept;
  void on_accept(int fd, const sockaddr* sa);
  void connect_qmgr();
  void on_qmgr_frame(const common::ipc::FrameView& f);
  void on_qmgr_closed(const common::Status& why);

  event_base* base_;
  const common::config::Config& cfg_;
  SessionConfig session_cfg_;
  common::spool::Layout layout_;
  common::io::UniqueFd incoming_;
  common::tls::SslCtxPtr tls_;
  AccountsDirectory directory_;
  std::vector<common::io::UniqueFd> listen_fds_;
  std::vector<common::io::ListenerPtr> listeners_;
  common::io::EventPtr resume_accept_;
  std::map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  std::uint64_t next_conn_id_ = 1;
  std::unique_ptr<common::ipc::Channel> qmgr_;
  common::io::EventPtr reconnect_;
  std::unordered_map<std::uint64_t, std::uint64_t> pending_;  // request id -> connection id
  std::uint64_t next_request_id_ = 1;
  bool qmgr_down_logged_ = false;
};

}  // namespace smtpd
