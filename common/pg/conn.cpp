// Implementation of the PostgreSQL connection (see conn.hpp).
#include "common/pg/conn.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>

#include "common/log/log.hpp"
#include "common/pg/deadline.hpp"
#include "common/pg/rows.hpp"
#include "common/pg/schema.hpp"

namespace common::pg {
namespace {

std::string one_line(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace

const char* role_for(const std::string& program) {
  if (program == "pop3d") return kPop3Role;
  if (program == "mailbag-auth") return kAuthRole;
  if (program == "mailctl" || program == "relayctl") return kAdminRole;
  return kReaderRole;
}

Conn::~Conn() {
  if (c_) PQfinish(c_);
}

void Conn::drop(const std::string& why) {
  if (c_) PQfinish(c_);
  c_ = nullptr;
  last_error_ = Status::error(why);
}

void Conn::ResultFree::operator()(PGresult* r) const { PQclear(r); }

Conn::Clock::time_point Conn::step_deadline() const {
  auto d = Clock::now() + std::chrono::milliseconds(s_.timeout_ms);
  if (auto c = current_deadline(); c && *c < d) d = *c;
  return d;
}

Status Conn::wait(short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    int fd = PQsocket(c_);
    if (fd < 0) return Status::error(std::string("PostgreSQL: no connection while ") + what);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
      return Status::error(std::string("PostgreSQL: no answer in time (") + what + "; postgresql_timeout " +
                           std::to_string(s_.timeout_ms) + " ms)");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return Status::ok();
    if (n < 0 && errno != EINTR) return Status::sys("poll (PostgreSQL)");
  }
}

Conn::ResultPtr Conn::run(const std::string& sql, const std::vector<std::string>& params,
                          Clock::time_point deadline, std::string* why) {
  std::vector<const char*> p;
  for (const auto& x : params) p.push_back(x.c_str());
  // Without parameters, the simple protocol: a schema step is several statements.
  int sent = p.empty() ? PQsendQuery(c_, sql.c_str())
                       : PQsendQueryParams(c_, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(),
                                           nullptr, nullptr, 0);
  if (!sent) {
    *why = one_line(PQerrorMessage(c_));
    return nullptr;
  }
  for (;;) {  // non-blocking: the statement may not all fit in the socket at once
    int f = PQflush(c_);
    if (f == 0) break;
    Status st =
        f < 0 ? Status::error(one_line(PQerrorMessage(c_))) : wait(POLLIN | POLLOUT, deadline, "sending");
    if (!st || !PQconsumeInput(c_)) {
      *why = st ? one_line(PQerrorMessage(c_)) : st.message();
      return nullptr;
    }
  }
  ResultPtr last;
  std::string error;
  for (;;) {
    while (PQisBusy(c_)) {
      Status st = wait(POLLIN, deadline, "waiting for an answer");
      if (!st || !PQconsumeInput(c_)) {
        *why = st ? one_line(PQerrorMessage(c_)) : st.message();
        return nullptr;
      }
    }
    PGresult* r = PQgetResult(c_);
    if (!r) break;
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK && error.empty()) {
      error = one_line(PQresultErrorMessage(r));
      if (error.empty()) error = PQresStatus(t);
    }
    last.reset(r);
  }
  if (error.empty() && !last) error = "no result";
  if (!error.empty()) {
    *why = error;
    return nullptr;
  }
  return last;
}

Status Conn::connect() {
  if (c_ && PQstatus(c_) == CONNECTION_OK) return Status::ok();
  if (c_) drop("PostgreSQL connection lost");
  auto now = Clock::now();
  if (last_attempt_ != Clock::time_point{} && now - last_attempt_ < kRetryInterval) return last_error_;
  auto deadline = step_deadline();
  if (deadline <= now) return Status::error("PostgreSQL: no time left to connect (postgresql_timeout)");
  last_attempt_ = now;
  // Later entries win over the conninfo's own (expand_dbname): the role and password are
  // Mailbag's. The connect runs asynchronously with our own deadline (libpq's
  // connect_timeout applies only to its blocking connect).
  std::vector<const char*> keys{"dbname", "user", "application_name"};
  std::vector<const char*> values{s_.conninfo.c_str(), s_.role.c_str(), s_.program.c_str()};
  if (!s_.password.empty()) {
    keys.push_back("password");
    values.push_back(s_.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  c_ = PQconnectStartParams(keys.data(), values.data(), 1);
  std::string why;
  if (!c_) {
    why = "out of memory";
  } else if (PQstatus(c_) == CONNECTION_BAD) {
    why = one_line(PQerrorMessage(c_));
  } else {
    // libpq's loop: start as if the last poll said "writing".
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (ps != PGRES_POLLING_OK) {
      if (ps == PGRES_POLLING_FAILED) {
        why = one_line(PQerrorMessage(c_));
        break;
      }
      Status st = wait(ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline, "connecting");
      if (!st) {
        why = st.message();
        if (why.rfind("PostgreSQL: ", 0) == 0) why.erase(0, 12);
        break;
      }
      ps = PQconnectPoll(c_);
    }
  }
  if (why.empty() && PQsetnonblocking(c_, 1) != 0) why = one_line(PQerrorMessage(c_));
  if (!why.empty()) {
    why = "PostgreSQL: cannot connect as " + s_.role + ": " + why;
    drop(why);
    if (!logged_down_) log::error("%s (retried once a second)", why.c_str());
    logged_down_ = true;
    return last_error_;
  }
  std::vector<std::string> setup{"SET statement_timeout = " + std::to_string(s_.timeout_ms)};
  for (const auto& ch : channels_) setup.push_back("LISTEN " + ch);
  if (s_.check_schema) setup.push_back("SELECT max(version) FROM schema_version");
  for (std::size_t i = 0; i < setup.size(); ++i) {
    ResultPtr r = run(setup[i], {}, deadline, &why);
    if (r && s_.check_schema && i + 1 == setup.size()) {
      // A schema of another version is refused, never guessed at: every lookup then
      // fails (a temporary failure), and each re-connect checks again.
      if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 1 || PQgetisnull(r.get(), 0, 0)) {
        why = "PostgreSQL: schema_version has no row: run 'mailctl db init'";
      } else {
        auto v = parse_int(PQgetvalue(r.get(), 0, 0), "schema version");
        if (!v || *v != kSchemaVersion)
          why = "PostgreSQL: the database has schema version " +
                (v ? std::to_string(*v) : "'" + v.message() + "'") + ", this Mailbag needs " +
                std::to_string(kSchemaVersion) + " (run 'mailctl db migrate')";
      }
    } else if (!r) {
      why = "PostgreSQL: " + setup[i] + ": " + why;
      if (i + 1 == setup.size() && s_.check_schema) why += " (no schema: run 'mailctl db init')";
    }
    if (!why.empty()) {
      drop(why);
      if (!logged_down_) log::error("%s", last_error_.message().c_str());
      logged_down_ = true;
      return last_error_;
    }
  }
  if (logged_down_) log::info("PostgreSQL: connected again as %s", s_.role.c_str());
  logged_down_ = false;
  invalid_ = true;
  return Status::ok();
}

Result<Rows> Conn::query(const std::string& sql, const std::vector<std::string>& params) {
  MB_TRY(connect());
  auto deadline = step_deadline();
  // Out of time already (the task waited too long): fail without touching the
  // connection, which stays good for the next one.
  if (deadline <= Clock::now())
    return Status::error("PostgreSQL: no time left for the query (postgresql_timeout)");
  std::string why;
  ResultPtr r = run(sql, params, deadline, &why);
  if (!r) {
    why = "PostgreSQL: " + why;
    bool timed_out = deadline <= Clock::now();
    if (timed_out || PQstatus(c_) != CONNECTION_OK || PQisBusy(c_) ||
        PQtransactionStatus(c_) == PQTRANS_ACTIVE) {
      // The connection is lost or in an unknown state. After a timeout the server is
      // hanging: the next attempt waits kRetryInterval, so that each lookup meanwhile
      // fails at once instead of waiting out the timeout again. Otherwise the server may
      // be back already: the next call tries at once.
      drop(why);
      last_attempt_ = timed_out ? Clock::now() : Clock::time_point{};
    }
    thread_local log::RateLimiter limit(std::chrono::seconds(10), 5);
    if (limit.allow(why.substr(0, 80))) log::error("%s", why.c_str());
    return Status::error(why);
  }
  Rows rows;
  int n = PQntuples(r.get()), f = PQnfields(r.get());
  rows.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row row;
    row.reserve(static_cast<std::size_t>(f));
    for (int j = 0; j < f; ++j) {
      if (PQgetisnull(r.get(), i, j))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(
            std::string(PQgetvalue(r.get(), i, j), static_cast<std::size_t>(PQgetlength(r.get(), i, j))));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Status Conn::exec(const std::string& sql, const std::vector<std::string>& params) {
  auto r = query(sql, params);
  return r ? Status::ok() : r.status();
}

Result<std::vector<Rows>> Conn::transaction(const std::vector<Statement>& statements) {
  MB_TRY(exec("BEGIN"));
  std::vector<Rows> out;
  for (const auto& s : statements) {
    auto r = query(s.sql, s.params);
    if (!r) {
      if (c_) (void)exec("ROLLBACK");
      return r.status();
    }
    out.push_back(std::move(*r));
  }
  MB_TRY(exec("COMMIT"));
  return out;
}

bool Conn::invalidated() {
  if (c_ && (PQconsumeInput(c_) == 0 || PQstatus(c_) != CONNECTION_OK)) {
    drop("PostgreSQL connection lost: " + one_line(PQerrorMessage(c_)));
    last_attempt_ = {};
  }
  if (c_) {
    while (PGnotify* n = PQnotifies(c_)) {
      invalid_ = true;
      PQfreemem(n);
    }
  }
  bool any = invalid_;
  invalid_ = false;
  return any;
}

}  // namespace common::pg
