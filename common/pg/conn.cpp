// Implementation of the PostgreSQL connection (see conn.hpp).
#include "common/pg/conn.hpp"

#include <libpq-fe.h>

#include "common/log/log.hpp"
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

Status Conn::connect() {
  if (c_ && PQstatus(c_) == CONNECTION_OK) return Status::ok();
  if (c_) drop("PostgreSQL connection lost");
  auto now = std::chrono::steady_clock::now();
  if (last_attempt_ != std::chrono::steady_clock::time_point{} && now - last_attempt_ < kRetryInterval)
    return last_error_;
  last_attempt_ = now;
  // Later entries win over the conninfo's own (expand_dbname): the role and password are
  // Mailbag's; connect_timeout comes first so that the administrator's value wins.
  std::vector<const char*> keys{"connect_timeout", "dbname", "user", "application_name"};
  std::vector<const char*> values{"3", s_.conninfo.c_str(), s_.role.c_str(), s_.program.c_str()};
  if (!s_.password.empty()) {
    keys.push_back("password");
    values.push_back(s_.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  c_ = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!c_ || PQstatus(c_) != CONNECTION_OK) {
    std::string why = "PostgreSQL: cannot connect as " + s_.role + ": " +
                      one_line(c_ ? PQerrorMessage(c_) : "out of memory");
    drop(why);
    if (!logged_down_) log::error("%s (retried once a second)", why.c_str());
    logged_down_ = true;
    return last_error_;
  }
  std::vector<std::string> setup{"SET statement_timeout = " + std::to_string(s_.statement_timeout_ms)};
  for (const auto& ch : channels_) setup.push_back("LISTEN " + ch);
  for (const auto& sql : setup) {
    PGresult* r = PQexec(c_, sql.c_str());
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string why = ok ? "" : one_line(PQerrorMessage(c_));
    PQclear(r);
    if (!ok) {
      drop("PostgreSQL: " + sql + ": " + why);
      log::error("%s", last_error_.message().c_str());
      return last_error_;
    }
  }
  if (s_.check_schema) {
    PGresult* r = PQexec(c_, "SELECT max(version) FROM schema_version");
    Status st = Status::ok();
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1) {
      st = Status::error("PostgreSQL: no schema_version table (" + one_line(PQerrorMessage(c_)) +
                         "): run 'mailctl db init'");
    } else {
      auto v = PQgetisnull(r, 0, 0) ? Result<std::int64_t>(Status::error("no version row"))
                                    : parse_int(PQgetvalue(r, 0, 0), "schema version");
      if (!v || *v != kSchemaVersion)
        st = Status::error("PostgreSQL: the database has schema version " +
                           (v ? std::to_string(*v) : "'" + v.message() + "'") + ", this Mailbag needs " +
                           std::to_string(kSchemaVersion) + " (run 'mailctl db migrate')");
    }
    PQclear(r);
    if (!st) {
      drop(st.message());
      log::error("%s", st.message().c_str());
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
  std::vector<const char*> p;
  for (const auto& x : params) p.push_back(x.c_str());
  // Without parameters, the simple protocol: a schema step is several statements.
  PGresult* r = p.empty() ? PQexec(c_, sql.c_str())
                          : PQexecParams(c_, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(),
                                         nullptr, nullptr, 0);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string why = "PostgreSQL: " + one_line(PQerrorMessage(c_));
    PQclear(r);
    if (PQstatus(c_) != CONNECTION_OK) {
      drop(why);
      last_attempt_ = {};  // the server may be back already: the next call tries at once
    }
    static log::RateLimiter limit(std::chrono::seconds(10), 5);
    if (limit.allow(why.substr(0, 80))) log::error("%s", why.c_str());
    return Status::error(why);
  }
  Rows rows;
  int n = PQntuples(r), f = PQnfields(r);
  rows.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row row;
    row.reserve(static_cast<std::size_t>(f));
    for (int j = 0; j < f; ++j) {
      if (PQgetisnull(r, i, j))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(PQgetvalue(r, i, j), static_cast<std::size_t>(PQgetlength(r, i, j))));
    }
    rows.push_back(std::move(row));
  }
  PQclear(r);
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
