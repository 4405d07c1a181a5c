// Implementation of the PostgreSQL accounts store (see pg_accounts.hpp).
#include "common/pg/pg_accounts.hpp"

#include "common/accounts/accounts.hpp"
#include "common/pg/rows.hpp"
#include "common/pg/schema.hpp"

namespace common::pg {

using accounts::Alias;
using accounts::Domain;
using accounts::FilterRule;
using accounts::User;
using Clock = std::chrono::steady_clock;

namespace {

std::string domain_of(const std::string& key) {
  auto at = key.rfind('@');
  return at == std::string::npos ? "" : key.substr(at + 1);
}

template <class T, class Decode>
Result<std::optional<T>> get_one(Conn& c, TtlCache<std::optional<T>>& cache, const std::string& sql,
                                 const std::string& key, Decode decode) {
  auto now = Clock::now();
  if (const auto* hit = cache.find(key, now)) return *hit;
  auto rows = c.query(sql, {key});
  if (!rows) return rows.status();
  if (rows->size() > 1) return Status::error("PostgreSQL: several rows for '" + key + "'");
  std::optional<T> out;
  if (!rows->empty()) {
    auto v = decode(rows->front());
    if (!v) return v.status();
    out = std::move(*v);
  }
  cache.put(key, out, now);
  return out;
}

template <class T, class Decode>
Result<std::vector<T>> get_all(Conn& c, const std::string& sql, const std::vector<std::string>& params,
                               Decode decode) {
  auto rows = c.query(sql, params);
  if (!rows) return rows.status();
  std::vector<T> out;
  for (const auto& row : *rows) {
    auto v = decode(row);
    if (!v) return v.status();
    out.push_back(std::move(*v));
  }
  return out;
}

// A statement that returns one row per affected record: true if there was any.
Result<bool> affected(Conn& c, const std::string& sql, const std::vector<std::string>& params) {
  auto rows = c.query(sql, params);
  if (!rows) return rows.status();
  return !rows->empty();
}

std::string select(const char* columns, const char* table, const char* where) {
  return std::string("SELECT ") + columns + " FROM " + table + " " + where;
}

}  // namespace

PgAccounts::PgAccounts(Settings s, Clock::duration ttl)
    : conn_(std::move(s)),
      domain_cache_(ttl),
      user_cache_(ttl),
      alias_cache_(ttl),
      relay_cache_(ttl),
      domains_cache_(ttl),
      rules_cache_(ttl) {
  conn_.listen(kChannel);
}

void PgAccounts::refresh() {
  if (!conn_.invalidated()) return;
  domain_cache_.clear();
  user_cache_.clear();
  alias_cache_.clear();
  relay_cache_.clear();
  domains_cache_.clear();
  rules_cache_.clear();
}

Result<std::optional<Domain>> PgAccounts::domain(const std::string& name) {
  refresh();
  return get_one<Domain>(conn_, domain_cache_, select(kDomainColumns, "domains", "WHERE name = $1"), name,
                         decode_domain);
}

Result<std::optional<User>> PgAccounts::user(const std::string& address) {
  refresh();
  return get_one<User>(conn_, user_cache_, select(kUserColumns, "users", "WHERE address = $1"), address,
                       decode_user);
}

Result<std::optional<Alias>> PgAccounts::alias(const std::string& address) {
  refresh();
  return get_one<Alias>(conn_, alias_cache_, select(kAliasColumns, "aliases", "WHERE address = $1"), address,
                        decode_alias);
}

Result<std::vector<Domain>> PgAccounts::domains() {
  refresh();
  auto now = Clock::now();
  if (const auto* hit = domains_cache_.find("", now)) return *hit;
  auto all = get_all<Domain>(conn_, select(kDomainColumns, "domains", "ORDER BY name"), {}, decode_domain);
  if (all) domains_cache_.put("", *all, now);
  return all;
}

Result<bool> PgAccounts::exists(const std::string& key) {
  refresh();
  auto now = Clock::now();
  if (const auto* hit = relay_cache_.find(key, now)) return *hit;
  auto r = affected(conn_, "SELECT 1 FROM relay_recipients WHERE address = $1", {key});
  if (r) relay_cache_.put(key, *r, now);
  return r;
}

Result<bool> PgAccounts::relay_list(const std::string& domain) { return exists("@" + domain); }
Result<bool> PgAccounts::relay_recipient(const std::string& key) { return exists(key); }

Result<std::vector<FilterRule>> PgAccounts::filter_rules() {
  refresh();
  auto now = Clock::now();
  if (const auto* hit = rules_cache_.find("", now)) return *hit;
  auto all =
      get_all<FilterRule>(conn_, select(kRuleColumns, "filter_rules", "ORDER BY key"), {}, decode_rule);
  if (all) rules_cache_.put("", *all, now);
  return all;
}

Result<std::vector<User>> PgAccounts::users(const std::string& domain) {
  return get_all<User>(conn_,
                       select(kUserColumns, "users", "WHERE $1::text = '' OR domain = $1 ORDER BY address"),
                       {domain}, decode_user);
}

Result<std::vector<Alias>> PgAccounts::aliases(const std::string& domain) {
  return get_all<Alias>(
      conn_, select(kAliasColumns, "aliases", "WHERE $1::text = '' OR domain = $1 ORDER BY address"),
      {domain}, decode_alias);
}

Result<std::vector<std::string>> PgAccounts::relay_recipients(const std::string& domain) {
  auto rows = conn_.query(
      "SELECT address FROM relay_recipients WHERE $1::text = '' OR domain = $1 ORDER BY address", {domain});
  if (!rows) return rows.status();
  std::vector<std::string> out;
  for (const auto& row : *rows) {
    if (row.size() != 1 || !row[0]) return Status::error("PostgreSQL: bad row in relay_recipients");
    out.push_back(*row[0]);
  }
  return out;
}

Status PgAccounts::put_relay_recipients(const std::string& domain, const std::vector<std::string>& addresses,
                                        bool replace) {
  std::vector<std::string> keys = addresses;
  keys.push_back("@" + domain);
  for (const auto& k : keys)
    if (k.find('\n') != std::string::npos) return Status::error("address with a line break");
  std::vector<Conn::Statement> st;
  if (replace) st.push_back({"DELETE FROM relay_recipients WHERE domain = $1", {domain}});
  st.push_back(
      {"INSERT INTO relay_recipients (address, domain) "
       "SELECT unnest(string_to_array($1::text, E'\\n')), $2::text ON CONFLICT DO NOTHING",
       {join_lines(keys), domain}});
  auto r = conn_.transaction(st);
  return r ? Status::ok() : r.status();
}

Result<bool> PgAccounts::delete_relay_recipient(const std::string& key) {
  return affected(conn_, "DELETE FROM relay_recipients WHERE address = $1 RETURNING 1", {key});
}

Result<bool> PgAccounts::delete_relay_list(const std::string& domain) {
  auto rows = conn_.query("DELETE FROM relay_recipients WHERE domain = $1 RETURNING address", {domain});
  if (!rows) return rows.status();
  for (const auto& row : *rows)
    if (!row.empty() && row[0] && *row[0] == "@" + domain) return true;
  return false;
}

Result<bool> PgAccounts::put_filter_rule(const FilterRule& r) {
  auto rows = conn_.query(
      "INSERT INTO filter_rules (key, kind, pattern, action, scope) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, pattern = EXCLUDED.pattern, "
      "action = EXCLUDED.action, scope = EXCLUDED.scope RETURNING (xmax <> 0)",
      {accounts::filter_rule_key(r), r.kind, r.pattern, r.action, r.scope});
  if (!rows) return rows.status();
  return rows->size() == 1 && (*rows)[0].size() == 1 && (*rows)[0][0] && *(*rows)[0][0] == "t";
}

Result<bool> PgAccounts::delete_filter_rule(const FilterRule& r) {
  return affected(conn_, "DELETE FROM filter_rules WHERE key = $1 RETURNING 1",
                  {accounts::filter_rule_key(r)});
}

Result<std::vector<accounts::AtrnGrant>> PgAccounts::atrn_grants(const std::string& login) {
  auto rows = conn_.query(
      "SELECT login, domain FROM atrn_grants WHERE $1::text = '' OR login = $1 ORDER BY login, domain",
      {login});
  if (!rows) return rows.status();
  std::vector<accounts::AtrnGrant> out;
  for (const auto& row : *rows) {
    if (row.size() != 2 || !row[0] || !row[1]) return Status::error("PostgreSQL: bad row in atrn_grants");
    accounts::AtrnGrant g;
    g.login = *row[0];
    g.domain = *row[1];
    out.push_back(std::move(g));
  }
  return out;
}

Status PgAccounts::put_atrn_grant(const accounts::AtrnGrant& g) {
  return conn_.exec("INSERT INTO atrn_grants (login, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    {g.login, g.domain});
}

Result<bool> PgAccounts::delete_atrn_grant(const accounts::AtrnGrant& g) {
  return affected(conn_, "DELETE FROM atrn_grants WHERE login = $1 AND domain = $2 RETURNING 1",
                  {g.login, g.domain});
}

Status PgAccounts::put_domain(const Domain& d) {
  return conn_.exec(
      "INSERT INTO domains (name, alias_of, catchall, default_quota, max_message_size, max_recipients, "
      "created) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET alias_of = EXCLUDED.alias_of, "
      "catchall = EXCLUDED.catchall, default_quota = EXCLUDED.default_quota, "
      "max_message_size = EXCLUDED.max_message_size, max_recipients = EXCLUDED.max_recipients, "
      "created = EXCLUDED.created",
      domain_params(d));
}

Status PgAccounts::put_user(const User& u) {
  for (const auto& f : u.forward)
    if (f.find('\n') != std::string::npos) return Status::error("forward target with a line break");
  auto params = user_params(u);
  params.push_back(domain_of(u.address));
  return conn_.exec(
      "INSERT INTO users (address, maildir, quota, disabled, forward, keep_copy, autoreply_enabled, "
      "autoreply_subject, autoreply_text, autoreply_start, autoreply_end, autoreply_interval_days, created, "
      "junk_folder, domain) VALUES ($1, $2, $3, $4, string_to_array($5, E'\\n'), $6, $7, $8, $9, $10, $11, "
      "$12, "
      "$13, $14, $15) ON CONFLICT (address) DO UPDATE SET maildir = EXCLUDED.maildir, quota = "
      "EXCLUDED.quota, "
      "disabled = EXCLUDED.disabled, forward = EXCLUDED.forward, keep_copy = EXCLUDED.keep_copy, "
      "autoreply_enabled = EXCLUDED.autoreply_enabled, autoreply_subject = EXCLUDED.autoreply_subject, "
      "autoreply_text = EXCLUDED.autoreply_text, autoreply_start = EXCLUDED.autoreply_start, "
      "autoreply_end = EXCLUDED.autoreply_end, autoreply_interval_days = EXCLUDED.autoreply_interval_days, "
      "created = EXCLUDED.created, junk_folder = EXCLUDED.junk_folder, domain = EXCLUDED.domain",
      params);
}

Status PgAccounts::put_alias(const Alias& a) {
  for (const auto& t : a.targets)
    if (t.find('\n') != std::string::npos) return Status::error("alias target with a line break");
  return conn_.exec(
      "INSERT INTO aliases (address, domain, targets) VALUES ($1, $2, string_to_array($3, E'\\n')) "
      "ON CONFLICT (address) DO UPDATE SET targets = EXCLUDED.targets, domain = EXCLUDED.domain",
      {a.address, domain_of(a.address), join_lines(a.targets)});
}

Result<bool> PgAccounts::delete_domain(const std::string& name) {
  auto r = conn_.transaction({{"DELETE FROM users WHERE domain = $1", {name}},
                              {"DELETE FROM aliases WHERE domain = $1", {name}},
                              {"DELETE FROM domains WHERE name = $1 RETURNING 1", {name}}});
  if (!r) return r.status();
  return !r->back().empty();
}

Result<bool> PgAccounts::delete_user(const std::string& address) {
  return affected(conn_, "DELETE FROM users WHERE address = $1 RETURNING 1", {address});
}

Result<bool> PgAccounts::delete_alias(const std::string& address) {
  return affected(conn_, "DELETE FROM aliases WHERE address = $1 RETURNING 1", {address});
}

}  // namespace common::pg
