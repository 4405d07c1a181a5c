// pop3d's process, the POP3 login process: the pieces main() calls in its four steps.
// pre_jail() binds the POP3 and POP3S ports and loads the TLS key while still privileged;
// run() serves every session from one libevent loop until SIGTERM. The Server owns the
// listeners, accept with the per-client limits (common/io/client_limits.hpp), the
// Connections (connection.hpp) in the AUTHORIZATION state, the connection to the
// authentication daemon (common/auth/client.hpp), which alone reads the password hashes,
// and the link to the POP3 mailbox process (mailbox_link.hpp), which alone opens
// Maildirs: a good login hands the client over to it with the daemon's login token.
#pragma once

#include <event2/listener.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/auth/client.hpp"
#include "common/config/config.hpp"
#include "common/io/client_limits.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/io/work_queue.hpp"
#include "common/log/log.hpp"
#include "common/pg/db_queue.hpp"
#include "common/relaydb/relaydb.hpp"
#include "common/tls/server_tls.hpp"
#include "pop3d/host.hpp"
#include "pop3d/mailbox_link.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

struct Listener {
  common::io::UniqueFd fd;
  bool implicit_tls = false;
  std::string where;  // host:port, for the log
};

struct PreJail {
  std::vector<Listener> listeners;
  std::unique_ptr<common::tls::ServerTls> tls;         // null: no certificate configured, no STLS or POP3S
  std::unique_ptr<common::relaydb::RelayStore> relay;  // null unless pop_before_smtp
};

// As root: the TLS key and the listeners. Exits with a message (EX_CONFIG, EX_OSERR) if
// something is missing.
PreJail pre_jail(const common::config::Config& cfg);
// After the privilege drop, as mb-pop3d: (pop_before_smtp) relay.mdb, whose lock file
// the daemons can write, so root never opens it. Exits with EX_UNAVAILABLE if it cannot
// be opened.
void open_databases(const common::config::Config& cfg, PreJail* pre);
// Returns a sysexits-style exit code (0 after SIGTERM/SIGINT).
// SIGHUP reloads `cfg` (common/config/reload.hpp) and the certificate.
int run(common::config::Config& cfg, PreJail pre);

class Connection;

class Server final : public Host {
 public:
  // No maildrop here: the queue a Connection may ask for is never used.
  static constexpr std::size_t kDiskThreads = 1;

  Server(const common::config::Config& cfg, PreJail& pre, event_base* base);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  common::Status start(std::vector<Listener>& ls);
  // After a reload: the per-client limits from the configuration as it is now (the
  // other keys are read where they are used).
  void configure();

  // For connections (host.hpp).
  const common::config::Config& cfg() const override { return cfg_; }
  event_base* base() const override { return base_; }
  SSL_CTX* tls() const override { return tls_ ? tls_->ctx() : nullptr; }
  Connection* find(std::uint64_t id) override;
  // Destroys the connection on the next loop turn.
  void release(std::uint64_t id) override;
  // Unused here (no maildrop in this process), but part of what a Connection may ask.
  common::io::WorkQueue& disk() override { return disk_; }
  // Checks credentials under the per-client failure limit; the verdict comes back
  // through Connection::auth_done (never inside this call).
  void authenticate(std::uint64_t conn_id, const std::string& user, const std::string& password) override;
  void hand_over(std::uint64_t conn_id, HandoverRequest req) override;
  common::log::RateLimiter& warn_limit() override { return warn_limit_; }
  // Buffers every connection shares (they all run on this thread).
  std::string& read_buffer() override { return read_buf_; }
  std::string& wire_buffer() override { return wire_buf_; }

 private:
  struct ListenerCtx {
    Server* srv;
    bool implicit_tls;
  };
  static common::io::ClientLimits::Settings limit_settings(const common::config::Config& cfg);
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg) noexcept;
  static void prune_cb(evutil_socket_t, short, void* arg) noexcept;
  void accept(common::io::UniqueFd fd, const sockaddr* sa, bool implicit_tls);
  void answer(std::uint64_t conn_id, AuthResult::Kind outcome);
  void stamp_relay(const std::string& addr);
  void forget(std::uint64_t conn_id, std::uint64_t handover_id);
  void session_ended(std::uint64_t handover_id);
  void link_lost();
  double monotonic() const;

  const common::config::Config& cfg_;
  event_base* base_;
  std::unique_ptr<common::tls::ServerTls> tls_;
  std::unique_ptr<common::relaydb::RelayStore> relay_;
  common::auth::Client auth_;
  MailboxLink link_;
  common::io::WorkQueue disk_;
  common::io::ClientLimits limits_;
  common::log::RateLimiter warn_limit_{std::chrono::seconds(60)};
  std::vector<std::unique_ptr<ListenerCtx>> ctxs_;
  std::vector<common::io::ListenerPtr> listeners_;
  common::io::EventPtr prune_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  // Plain clients handed to the mailbox process, by handover id: their addresses, for
  // the per-client limit.
  std::unordered_map<std::uint64_t, std::string> handed_;
  std::uint64_t next_id_ = 1;
  std::string read_buf_;
  std::string wire_buf_;
  // Last: its thread stamps relay_ (pop_before_smtp), so it stops before relay_ goes.
  common::pg::DbQueue db_;
};

}  // namespace pop3d
