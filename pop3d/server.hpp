// pop3d's process: the pieces main() calls in its four steps. pre_jail() binds the POP3
// and POP3S ports, loads the TLS key and opens the databases while still privileged;
// run() serves every session from one libevent loop until SIGTERM. The Server owns the
// listeners, accept with the per-client limits (common/io/client_limits.hpp), the
// Connections (connection.hpp), the disk workers, and the connection to the
// authentication daemon (common/auth/client.hpp), which alone reads the password hashes.
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
#include "common/relaydb/relaydb.hpp"
#include "common/tls/server_tls.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

struct Listener {
  common::io::UniqueFd fd;
  bool implicit_tls = false;
  std::string where;  // host:port, for the log
};

struct PreJail {
  std::vector<Listener> listeners;
  std::unique_ptr<common::tls::ServerTls> tls;      // null: no certificate configured, no STLS or POP3S
  std::unique_ptr<common::relaydb::RelayDb> relay;  // null unless pop_before_smtp
};

// As root: the TLS key and the listeners. Exits with a message (EX_CONFIG, EX_OSERR) if
// something is missing.
PreJail pre_jail(const common::config::Config& cfg);
// After the privilege drop, as mb-pop3d: (pop_before_smtp) relay.mdb, whose lock file
// the daemons can write, so root never opens it. Exits with EX_UNAVAILABLE if it cannot
// be opened.
void open_databases(const common::config::Config& cfg, PreJail* pre);
// Returns a sysexits-style exit code (0 after SIGTERM/SIGINT).
int run(const common::config::Config& cfg, PreJail pre);

class Connection;

class Server {
 public:
  // Maildrop openings and UPDATEs at once: they mostly wait for the disk (renames,
  // unlinks, fsync), so more of them than cores.
  static constexpr std::size_t kDiskThreads = 8;

  Server(const common::config::Config& cfg, PreJail& pre, event_base* base);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  common::Status start(std::vector<Listener>& ls);

  // For connections.
  const common::config::Config& cfg() const { return cfg_; }
  event_base* base() const { return base_; }
  SSL_CTX* tls() const { return tls_ ? tls_->ctx() : nullptr; }
  Connection* find(std::uint64_t id);
  // Destroys the connection on the next loop turn.
  void release(std::uint64_t id);
  // Maildrop openings and UPDATEs (unbounded: one at a time per session).
  common::io::WorkQueue& disk() { return disk_; }
  // Checks credentials under the per-client failure limit; the verdict comes back
  // through Connection::auth_done (never inside this call).
  void authenticate(std::uint64_t conn_id, const std::string& user, const std::string& password);
  void stamp_relay(const std::string& addr);
  common::log::RateLimiter& warn_limit() { return warn_limit_; }
  // Buffers every connection shares (they all run on this thread): socket reads, and a
  // message's file reads and their wire form.
  std::string& read_buffer() { return read_buf_; }
  std::string& wire_buffer() { return wire_buf_; }

 private:
  struct ListenerCtx {
    Server* srv;
    bool implicit_tls;
  };
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg) noexcept;
  static void prune_cb(evutil_socket_t, short, void* arg) noexcept;
  void accept(common::io::UniqueFd fd, const sockaddr* sa, bool implicit_tls);
  void answer(std::uint64_t conn_id, AuthResult::Kind outcome);
  double monotonic() const;

  const common::config::Config& cfg_;
  event_base* base_;
  std::unique_ptr<common::tls::ServerTls> tls_;
  std::unique_ptr<common::relaydb::RelayDb> relay_;
  common::auth::Client auth_;
  common::io::WorkQueue disk_;
  common::io::ClientLimits limits_;
  common::log::RateLimiter warn_limit_{std::chrono::seconds(60)};
  std::vector<std::unique_ptr<ListenerCtx>> ctxs_;
  std::vector<common::io::ListenerPtr> listeners_;
  common::io::EventPtr prune_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  std::uint64_t next_id_ = 1;
  std::string read_buf_;
  std::string wire_buf_;
};

}  // namespace pop3d
