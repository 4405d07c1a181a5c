// One libpq connection to the shared PostgreSQL database (accounts_backend =
// postgresql), as every Mailbag program holds it: connected on first use, re-connected
// by itself after a failure (at most one attempt per kRetryInterval, so a database that
// is down costs a fast error, not a wait per lookup). Every connect and every statement
// has a deadline kept on this side (libpq's asynchronous calls and poll()), so a
// database that hangs (a stopped server, a dead link, a listener that never answers)
// costs at most Settings::timeout_ms, or less when the caller's deadline
// (deadline.hpp) is nearer; the connection is then dropped. The daemons never call it
// on their event loop when it may wait (db_queue.hpp). Results come back as text cells
// (rows.hpp decodes them); LISTEN notifications are collected without blocking.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace common::pg {

// The database roles (documented in mailbag.7 and the schema, schema.cpp): what each
// program may read and write is granted to its role.
inline constexpr const char* kReaderRole = "mailbag_reader";  // smtpd, queue-manager, local
inline constexpr const char* kPop3Role = "mailbag_pop3";      // + stamps the relay table
inline constexpr const char* kAuthRole = "mailbag_auth";      // + password hashes, relay stamps
inline constexpr const char* kAdminRole = "mailbag_admin";    // mailctl, relayctl: everything
// The role a program connects as.
const char* role_for(const std::string& program);

struct Settings {
  std::string conninfo;  // postgresql_conninfo (host, port, dbname, sslmode, ...)
  std::string role;      // user= (role_for(program))
  std::string password;  // from postgresql_password_file ("" = none: peer, cert or trust)
  std::string program;   // application_name, for pg_stat_activity
  // The longest a connect or one statement may take (postgresql_timeout); the server
  // also gets it as its statement_timeout.
  int timeout_ms = 5000;
  bool check_schema = true;  // refuse a database whose schema_version is not ours
};

// One result row: a cell is nullopt for SQL NULL.
using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

class Conn {
 public:
  static constexpr std::chrono::milliseconds kRetryInterval{1000};
  explicit Conn(Settings s) : s_(std::move(s)) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one statement with text parameters ($1, $2, ...); the rows it returns. An
  // error (connection, SQL, timeout) is a Status saying which; a broken connection is
  // dropped and re-made on a later call.
  Result<Rows> query(const std::string& sql, const std::vector<std::string>& params = {});
  Status exec(const std::string& sql, const std::vector<std::string>& params = {});
  // Several statements as one transaction (BEGIN ... COMMIT; ROLLBACK on any error).
  struct Statement {
    std::string sql;
    std::vector<std::string> params;
  };
  Result<std::vector<Rows>> transaction(const std::vector<Statement>& statements);

  // LISTEN on `channel` after every (re)connect.
  void listen(std::string channel) { channels_.push_back(std::move(channel)); }
  // True if a notification arrived since the last call, or the connection was (re)made
  // since then (notifications may have been missed while it was down): the caller's
  // cache is stale. While the database is unreachable it stays false, so that cached
  // answers serve until their TTL. Never blocks.
  bool invalidated();

 private:
  using Clock = std::chrono::steady_clock;
  struct ResultFree {
    void operator()(PGresult* r) const;
  };
  using ResultPtr = std::unique_ptr<PGresult, ResultFree>;
  Status connect();
  void drop(const std::string& why);
  // The time this step must end by: timeout_ms from now, or the caller's deadline.
  Clock::time_point step_deadline() const;
  // Waits until the socket is ready for `events` (POLLIN, POLLOUT) or `deadline`.
  Status wait(short events, Clock::time_point deadline, const char* what);
  // Sends one statement and collects its result within `deadline` (the last result of a
  // multi-statement string, or the first error). Null with *why set on failure.
  ResultPtr run(const std::string& sql, const std::vector<std::string>& params, Clock::time_point deadline,
                std::string* why);
  Settings s_;
  PGconn* c_ = nullptr;
  std::vector<std::string> channels_;
  std::chrono::steady_clock::time_point last_attempt_{};
  Status last_error_;
  bool invalid_ = true;
  bool logged_down_ = false;
};

}  // namespace common::pg
