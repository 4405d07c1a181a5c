// The smtpd process around its sessions: what is opened before the privilege drop
// (pre_jail), the listeners of each kind (MX, submission, implicit-TLS submission) and
// accept with the per-client limits (common/io/client_limits.hpp), ownership of the Connections, the
// password checks of AUTH (asked of the authentication daemon, common/auth/client.hpp: smtpd
// never sees a password hash), the POP-before-SMTP relay database, and the one
// channel to the queue manager (private/submit) that carries every submission and
// ETRN, reconnected every second while the queue manager is down.
#pragma once

#include <event2/listener.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/auth/client.hpp"
#include "common/config/config.hpp"
#include "common/io/client_limits.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/milter/spec.hpp"
#include "common/net/cidr.hpp"
#include "common/pg/db_queue.hpp"
#include "common/relaydb/relaydb.hpp"
#include "common/spool/layout.hpp"
#include "common/spool/submit.hpp"
#include "common/tls/server_tls.hpp"
#include "smtpd/accounts_directory.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

// What a session on one kind of port runs with, built from the configuration at start
// and again at each reload; a connection holds its own for its whole life.
struct PortConfig {
  SessionConfig session;
  std::vector<common::milter::Spec> milters;  // milters (port 25) or submission_milters
};

struct Listener {
  common::io::UniqueFd fd;  // bound and listening (port 25 needs root)
  Port port = Port::kMx;
};

// Everything smtpd needs that its unprivileged user could not open itself.
struct PreJail {
  std::vector<Listener> listeners;
  common::io::UniqueFd incoming;                       // O_RDONLY|O_DIRECTORY of spool/incoming
  std::unique_ptr<common::tls::ServerTls> tls;         // null when no certificate is configured
  std::unique_ptr<common::accounts::Store> accounts;   // null if it could not be opened
  std::unique_ptr<common::relaydb::RelayStore> relay;  // pop_before_smtp, if it exists
  std::string srs_secret;  // data_directory/srs.secret (root's alone), "" when missing
};

// As root: binds the listeners, opens the drop directory, the TLS key and the SRS key;
// exits with a sysexits code when something required fails.
PreJail pre_jail(const common::config::Config& cfg);
// After the privilege drop: accounts.mdb and relay.mdb. Their lock files are
// writable by the daemons, so root never opens them; a database that cannot be opened
// yet is logged and retried when needed.
void open_databases(const common::config::Config& cfg, PreJail* pre);
// The event loop until SIGTERM/SIGINT; SIGHUP reloads `cfg` (common/config/reload.hpp).
// Returns the process exit code.
int run(common::config::Config& cfg, PreJail pre);

class Connection;

class Server : public Backend {
 public:
  Server(event_base* base, const common::config::Config& cfg, PreJail pre);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();
  // Rebuilds what the server derived from the configuration (after a reload): new
  // sessions get the new settings, sessions in progress keep theirs.
  void configure();

  // Backend, shared by every session.
  Directory& directory() override { return directory_; }
  common::Result<common::spool::QueueFileWriter> create_queue_file(
      const common::spool::Envelope& env) override;
  std::int64_t now() override;
  std::string new_queue_id() override;
  common::Result<bool> relay_db_allows(const std::string& ip) override;
  // LMDB answers at once; PostgreSQL's lookups run on the database thread (lookup()).
  std::optional<LookupAnswer> lookup_now(const LookupRequest& q) override;

  // For connections.
  event_base* base() const { return base_; }
  const common::config::Config& config() const { return cfg_; }
  std::shared_ptr<const PortConfig> port_config(Port p) const { return port_cfg_[static_cast<int>(p)]; }
  SSL_CTX* tls_ctx() const { return tls_ ? tls_->ctx() : nullptr; }
  common::tls::ServerTls* tls() const { return tls_.get(); }
  // One read buffer for every connection (they run on this one thread): a connection
  // reads into it and hands the bytes to its session at once.
  std::string& read_buffer() { return read_buf_; }
  // Hands a finished queue file to the queue manager. Returns the request id, or 0 when
  // the queue manager is not connected (the caller answers 451 at once).
  std::uint64_t submit(std::uint64_t conn_id, Submission s);
  // Forwards an allowed ETRN (ipc::Etrn); 0 when the queue manager is not connected.
  std::uint64_t etrn(std::uint64_t conn_id, const EtrnRequest& e);
  // Forwards an allowed ATRN (ipc::Atrn) with the agent's end of the connection's socket
  // pair; 0 when the queue manager is not connected.
  std::uint64_t atrn(std::uint64_t conn_id, const AtrnRequest& a, common::io::UniqueFd pair);
  // Releases relay domains for `client` (a wake-up message, a connection): one ETRN to
  // the queue manager each, the outcome logged with who asked and why.
  void release(const ClientInfo& client, const std::vector<std::string>& domains, const char* why);
  // The connection no longer waits for this answer (timeout or gone).
  void forget_request(std::uint64_t request_id);
  // Asks the checks process (Connection::check_answer gets the answer); 0 when no check
  // is configured or it cannot be reached now.
  std::uint64_t check(std::uint64_t conn_id, common::ipc::Check req, common::io::UniqueFd fd);
  void forget_check(std::uint64_t id);
  // Makes a session's lookups on the database thread; the answer comes back through
  // Connection::lookup_done. False: too many wait already (nothing will be called).
  bool lookup(std::uint64_t conn_id, const LookupRequest& q);
  // Checks credentials; the verdict comes back through Connection::auth_done.
  void authenticate(std::uint64_t conn_id, AuthRequest req);
  // Destroys the connection on the next loop turn.
  void release(std::uint64_t conn_id);

 private:
  struct AuthJob {
    std::uint64_t conn_id = 0;
    std::string login;  // as sent, for the log
    std::string ip;
    bool exempt = false;
  };

  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int len, void* self) noexcept;
  static void accept_error_cb(evconnlistener*, void* self) noexcept;
  static void resume_accept_cb(evutil_socket_t, short, void* self) noexcept;
  static void prune_cb(evutil_socket_t, short, void* self) noexcept;
  void on_accept(int fd, const sockaddr* sa, Port port);
  bool admit(int fd, const ClientInfo& client, Port port);
  void on_password_checked(const AuthJob& job, const common::auth::Verdict& v);
  void auth_answer(std::uint64_t conn_id, const AuthOutcome& o, double delay);
  double monotonic() const;

  event_base* base_;
  const common::config::Config& cfg_;
  std::shared_ptr<const PortConfig> port_cfg_[kPorts];
  std::string srs_secret_;
  std::atomic<std::int64_t> relay_lifetime_{0};  // read on the database thread
  bool started_ = false;                         // the database thread runs
  common::spool::Layout layout_;
  common::spool::DropDir drop_;                       // spool/incoming
  common::spool::SubmitClient qmgr_;                  // private/submit: Submit and ETRN
  std::unique_ptr<common::ipc::AsyncClient> checks_;  // private/checks, when a check is configured
  std::unique_ptr<common::tls::ServerTls> tls_;
  AccountsDirectory directory_;
  common::auth::Client auth_;  // private/auth: the password checks
  std::unique_ptr<common::relaydb::RelayStore> relay_;
  std::chrono::steady_clock::time_point relay_last_try_{};
  common::net::NetworkList relay_networks_;
  common::net::NetworkList etrn_networks_;
  // relay_domain_settings release=: relay domain -> the networks that may ETRN it.
  std::vector<std::pair<std::string, common::net::NetworkList>> release_;
  common::io::ClientLimits limits_;
  std::vector<Listener> listen_fds_;
  struct Listening {
    common::io::ListenerPtr l;
    Port port;
    Server* server;
  };
  std::vector<std::unique_ptr<Listening>> listeners_;
  common::io::EventPtr resume_accept_;
  common::io::EventPtr prune_;
  std::map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  std::uint64_t next_conn_id_ = 1;
  std::string read_buf_ = std::string(64 * 1024, '\0');
  // Last: its thread uses directory_ and relay_, so it stops before they go.
  common::pg::DbQueue db_;
};

}  // namespace smtpd
