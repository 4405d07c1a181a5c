// The schema steps (see schema.hpp). Step 1 is the layout of the LMDB accounts
// database as tables: one row per record, lower-case keys, text[] for lists; the
// password hashes apart in their own table, readable by mailbag_auth only.
#include "common/pg/schema.hpp"

#include "common/pg/rows.hpp"

namespace common::pg {
namespace {

// Roles are created NOLOGIN-less (LOGIN) without a password: the administrator sets one
// (ALTER ROLE ... PASSWORD) or lets pg_hba.conf decide (peer, cert). CREATE ROLE needs
// CREATEROLE: run `mailctl db init` as a role that has it, or create the roles first.
const char* const kStep1 = R"SQL(
CREATE TABLE schema_version (version integer NOT NULL);
CREATE TABLE domains (
  name text PRIMARY KEY,
  alias_of text NOT NULL DEFAULT '',
  catchall text NOT NULL DEFAULT '',
  default_quota bigint NOT NULL DEFAULT 0,
  max_message_size bigint NOT NULL DEFAULT 0,
  max_recipients bigint NOT NULL DEFAULT 0,
  created bigint NOT NULL DEFAULT 0);
CREATE TABLE users (
  address text PRIMARY KEY,
  domain text NOT NULL,
  maildir text NOT NULL,
  quota bigint NOT NULL DEFAULT 0,
  disabled boolean NOT NULL DEFAULT false,
  forward text[] NOT NULL DEFAULT '{}',
  keep_copy boolean NOT NULL DEFAULT true,
  autoreply_enabled boolean NOT NULL DEFAULT false,
  autoreply_subject text NOT NULL DEFAULT '',
  autoreply_text text NOT NULL DEFAULT '',
  autoreply_start bigint NOT NULL DEFAULT 0,
  autoreply_end bigint NOT NULL DEFAULT 0,
  autoreply_interval_days bigint NOT NULL DEFAULT 7,
  created bigint NOT NULL DEFAULT 0,
  junk_folder boolean NOT NULL DEFAULT true);
CREATE INDEX users_domain ON users (domain);
CREATE TABLE aliases (
  address text PRIMARY KEY,
  domain text NOT NULL,
  targets text[] NOT NULL);
CREATE INDEX aliases_domain ON aliases (domain);
CREATE TABLE passwords (address text PRIMARY KEY, hash text NOT NULL);
CREATE TABLE relay_recipients (address text PRIMARY KEY, domain text NOT NULL);
CREATE TABLE filter_rules (
  key text PRIMARY KEY,
  kind text NOT NULL,
  pattern text NOT NULL,
  action text NOT NULL,
  scope text NOT NULL DEFAULT '');
CREATE TABLE relay_clients (address text PRIMARY KEY, ticks bigint NOT NULL);

CREATE FUNCTION mailbag_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mailbag_accounts', TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER domains_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON domains
  FOR EACH STATEMENT EXECUTE FUNCTION mailbag_notify();
CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION mailbag_notify();
CREATE TRIGGER aliases_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aliases
  FOR EACH STATEMENT EXECUTE FUNCTION mailbag_notify();
CREATE TRIGGER relay_recipients_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON relay_recipients
  FOR EACH STATEMENT EXECUTE FUNCTION mailbag_notify();
CREATE TRIGGER filter_rules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON filter_rules
  FOR EACH STATEMENT EXECUTE FUNCTION mailbag_notify();

DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['mailbag_reader', 'mailbag_pop3', 'mailbag_auth'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN', r);
    END IF;
  END LOOP;
END $$;
REVOKE ALL ON schema_version, domains, users, aliases, passwords, relay_recipients, filter_rules,
  relay_clients FROM PUBLIC;
GRANT SELECT ON schema_version, domains, users, aliases, relay_recipients, filter_rules, relay_clients
  TO mailbag_reader, mailbag_pop3, mailbag_auth;
GRANT INSERT, UPDATE ON relay_clients TO mailbag_pop3, mailbag_auth;
GRANT SELECT ON passwords TO mailbag_auth;
)SQL";

// Step 2: the ODMR grants (RFC 2645; mailctl atrn): which account may pull which
// domain's queued mail with ATRN. smtpd reads them as mailbag_reader.
const char* const kStep2 = R"SQL(
CREATE TABLE atrn_grants (login text NOT NULL, domain text NOT NULL, PRIMARY KEY (login, domain));
CREATE TRIGGER atrn_grants_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON atrn_grants
  FOR EACH STATEMENT EXECUTE FUNCTION mailbag_notify();
REVOKE ALL ON atrn_grants FROM PUBLIC;
GRANT SELECT ON atrn_grants TO mailbag_reader, mailbag_pop3, mailbag_auth;
)SQL";

}  // namespace

const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps{kStep1, kStep2};
  return steps;
}

Result<std::int64_t> schema_version(Conn& c) {
  auto t = c.query("SELECT to_regclass('schema_version') IS NOT NULL");
  if (!t) return t.status();
  if (t->size() != 1 || (*t)[0].size() != 1 || !(*t)[0][0]) return Status::error("PostgreSQL: odd answer");
  if (*(*t)[0][0] != "t") return std::int64_t{0};
  auto v = c.query("SELECT max(version) FROM schema_version");
  if (!v) return v.status();
  if (v->size() != 1 || (*v)[0].size() != 1 || !(*v)[0][0])
    return Status::error("PostgreSQL: schema_version has no row");
  return parse_int(*(*v)[0][0], "schema version");
}

Status migrate_schema(Conn& c, std::int64_t* from) {
  auto v = schema_version(c);
  if (!v) return v.status();
  *from = *v;
  const auto& steps = migrations();
  if (*v > static_cast<std::int64_t>(steps.size()))
    return Status::error("the database has schema version " + std::to_string(*v) +
                         ", newer than this Mailbag's " + std::to_string(kSchemaVersion));
  for (auto i = static_cast<std::size_t>(*v); i < steps.size(); ++i) {
    std::string bump = i == 0 ? "INSERT INTO schema_version VALUES (1)"
                              : "UPDATE schema_version SET version = " + std::to_string(i + 1);
    auto r = c.transaction({{steps[i], {}}, {bump, {}}});
    if (!r) return Status::error("schema step " + std::to_string(i + 1) + ": " + r.message());
  }
  return Status::ok();
}

Status init_schema(Conn& c) {
  auto v = schema_version(c);
  if (!v) return v.status();
  if (*v != 0)
    return Status::error("the database already has a Mailbag schema (version " + std::to_string(*v) +
                         "); use 'mailctl db migrate'");
  std::int64_t from = 0;
  return migrate_schema(c, &from);
}

}  // namespace common::pg
