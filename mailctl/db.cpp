// Implementation of mailctl db (see db.hpp).
#include "mailctl/db.hpp"

#include "common/pg/backend.hpp"
#include "common/pg/password_file.hpp"
#include "common/pg/schema.hpp"
#include "mailctl/accounts_edit.hpp"
#include "mailctl/db_dump.hpp"

namespace mailctl {

using common::Status;

int cmd_db(Context& ctx, Command command) {
  if (!common::pg::enabled(ctx.cfg)) {
    complain(ctx, "accounts_backend is not postgresql: nothing to do");
    return kExitRefused;
  }
  common::pg::Settings s;
  s.conninfo = ctx.cfg.postgresql_conninfo;
  s.role = common::pg::kAdminRole;
  s.program = "mailctl";
  s.check_schema = false;  // this is what creates or changes it
  if (!ctx.cfg.postgresql_password_file.empty()) {
    auto p = common::pg::read_password_file(ctx.cfg.postgresql_password_file, s.role);
    if (!p) {
      complain(ctx, p.message());
      return EX_CONFIG;
    }
    s.password = std::move(*p);
  }
  common::pg::Conn conn(std::move(s));
  if (command == Command::kDbInit) {
    if (auto st = common::pg::init_schema(conn); !st) {
      complain(ctx, "db init: " + st.message());
      return EX_IOERR;
    }
    std::fprintf(ctx.out, "schema version %lld created\n",
                 static_cast<long long>(common::pg::kSchemaVersion));
    return kExitOk;
  }
  std::int64_t from = 0;
  if (auto st = common::pg::migrate_schema(conn, &from); !st) {
    complain(ctx, "db migrate: " + st.message());
    return EX_IOERR;
  }
  if (from == common::pg::kSchemaVersion)
    std::fprintf(ctx.out, "schema version %lld: nothing to do\n", static_cast<long long>(from));
  else
    std::fprintf(ctx.out, "schema version %lld -> %lld\n", static_cast<long long>(from),
                 static_cast<long long>(common::pg::kSchemaVersion));
  return kExitOk;
}

namespace {

// The relay database, if there is one this user may open (on LMDB it belongs to
// mb-pop3d; its entries live relay_lifetime, so a missing one only costs a new login).
std::unique_ptr<common::relaydb::RelayStore> open_relay(Context& ctx, bool write) {
  auto r = common::pg::open_relay(
      ctx.cfg, ctx.layout().relay_db(),
      write ? common::relaydb::RelayDb::Mode::kWrite : common::relaydb::RelayDb::Mode::kRead);
  if (!r) {
    complain(ctx, "relay database left out: " + r.message());
    return nullptr;
  }
  return std::move(*r);
}

}  // namespace

int cmd_db_export(Context& ctx) {
  AccountsDb db;
  PasswordsDb pw;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  if (int rc = open_passwords_db(ctx, &pw); rc != kExitOk) return rc;
  auto relay = open_relay(ctx, false);
  auto d = read_stores(*db, *pw, relay.get());
  if (!d) return check_io(ctx, d.status());
  std::string text = format_dump(*d);
  if (std::fwrite(text.data(), 1, text.size(), ctx.out) != text.size())
    return check_io(ctx, Status::sys("write"));
  return kExitOk;
}

int cmd_db_import(Context& ctx, const std::string& text) {
  auto d = parse_dump(text);
  if (!d) {
    complain(ctx, "db import: " + d.message());
    return kExitRefused;
  }
  AccountsDb db;
  PasswordsDb pw;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  if (int rc = open_passwords_db(ctx, &pw); rc != kExitOk) return rc;
  auto relay = d->relay_clients.empty() ? nullptr : open_relay(ctx, true);
  if (int rc = check_io(ctx, write_stores(*d, *db, *pw, relay.get())); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "imported %zu domains, %zu users, %zu aliases, %zu passwords, %zu rules\n",
               d->domains.size(), d->users.size(), d->aliases.size(), d->passwords.size(), d->rules.size());
  return kExitOk;
}

}  // namespace mailctl
