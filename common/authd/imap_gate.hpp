// IMAP logins in the authentication daemon. Dovecot's passdb program
// (mailbag-checkpassword, pop3d/checkpassword/) is a new process for every login and remembers nothing,
// so what smtpd and pop3d do around their own password checks is done here for IMAP:
// the per-client failure limit (common/io/client_limits.hpp, with pop3d's settings
// pop3d_auth_failure_limit and pop3d_auth_block_time: a failure's reply is held 1, 2, 4,
// then 8 seconds, and a client past the limit is refused unchecked), and, with
// pop_before_smtp, the stamp of a good login's client address in relay.mdb that pop3d
// makes for POP3 (IMAP-before-SMTP: the same database, the same relay_lifetime), made
// on the database thread when the database is PostgreSQL (common/pg/db_queue.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/io/client_limits.hpp"
#include "common/pg/db_queue.hpp"
#include "common/relaydb/relaydb.hpp"

namespace authd {

class ImapGate {
 public:
  struct Settings {
    common::io::ClientLimits::Settings limits;
    bool pop_before_smtp = false;
    std::string relay_db;  // data_directory/relay.mdb
    // Set when the relay database is not that file (accounts_backend = postgresql).
    std::function<common::Result<std::unique_ptr<common::relaydb::RelayStore>>()> open_relay;
    // Where the stamps run (null: at once, on the caller's thread).
    std::unique_ptr<common::pg::DbQueue> db;
  };
  explicit ImapGate(Settings s) : s_(std::move(s)), limits_(s_.limits) {}
  // The database thread stops first: it uses relay_.
  ~ImapGate() { s_.db.reset(); }
  ImapGate(const ImapGate&) = delete;
  ImapGate& operator=(const ImapGate&) = delete;
  common::Status start(event_base* base) { return s_.db ? s_.db->start(base) : common::Status::ok(); }

  // A check for `client` is about to start. False: the client is blocked, refuse it
  // without checking.
  bool start(const std::string& client, double now);
  // Its result (`failed`: bad credentials; a temporary failure is not the client's).
  // Returns how long to hold the reply: 0 unless it failed, then at least a second.
  double finish(const std::string& client, double now, bool failed);
  // A good login: the relay stamp (pop_before_smtp). Errors are logged, never fatal: the
  // login itself stands.
  void granted(const std::string& client, std::int64_t unix_now);
  void prune(double now) { limits_.prune(now); }
  void set_limits(common::io::ClientLimits::Settings l) { limits_.set_settings(l); }  // a reload

 private:
  void stamp(const std::string& address, std::int64_t unix_now);
  Settings s_;
  common::io::ClientLimits limits_;
  std::unique_ptr<common::relaydb::RelayStore> relay_;
};

}  // namespace authd
