// The accounts database on PostgreSQL (accounts_backend = postgresql): the Store that
// mailctl writes and every daemon reads through the address book, over the tables of
// schema.cpp. Reads are cached per process (cache.hpp): a notification from the tables'
// triggers empties the cache at the next lookup, and `ttl` bounds how stale an answer
// can be if one is lost. Listings and writes always go to the database.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/accounts/store.hpp"
#include "common/pg/cache.hpp"
#include "common/pg/conn.hpp"

namespace common::pg {

class PgAccounts : public accounts::Store {
 public:
  PgAccounts(Settings s, std::chrono::steady_clock::duration ttl);

  Result<std::optional<accounts::Domain>> domain(const std::string& name) override;
  Result<std::optional<accounts::User>> user(const std::string& address) override;
  Result<std::optional<accounts::Alias>> alias(const std::string& address) override;
  Result<std::vector<accounts::Domain>> domains() override;
  Result<bool> relay_list(const std::string& domain) override;
  Result<bool> relay_recipient(const std::string& key) override;
  Result<std::vector<accounts::FilterRule>> filter_rules() override;
  Result<std::vector<accounts::AtrnGrant>> atrn_grants(const std::string& login) override;
  Status put_atrn_grant(const accounts::AtrnGrant& g) override;
  Result<bool> delete_atrn_grant(const accounts::AtrnGrant& g) override;

  Result<std::vector<accounts::User>> users(const std::string& domain) override;
  Result<std::vector<accounts::Alias>> aliases(const std::string& domain) override;
  Result<std::vector<std::string>> relay_recipients(const std::string& domain) override;
  Status put_relay_recipients(const std::string& domain, const std::vector<std::string>& addresses,
                              bool replace) override;
  Result<bool> delete_relay_recipient(const std::string& key) override;
  Result<bool> delete_relay_list(const std::string& domain) override;
  Result<bool> put_filter_rule(const accounts::FilterRule& r) override;
  Result<bool> delete_filter_rule(const accounts::FilterRule& r) override;
  Status put_domain(const accounts::Domain& d) override;
  Status put_user(const accounts::User& u) override;
  Status put_alias(const accounts::Alias& a) override;
  Result<bool> delete_domain(const std::string& name) override;
  Result<bool> delete_user(const std::string& address) override;
  Result<bool> delete_alias(const std::string& address) override;

  Conn& conn() { return conn_; }

 private:
  void refresh();
  Result<bool> exists(const std::string& key);
  Conn conn_;
  TtlCache<std::optional<accounts::Domain>> domain_cache_;
  TtlCache<std::optional<accounts::User>> user_cache_;
  TtlCache<std::optional<accounts::Alias>> alias_cache_;
  TtlCache<bool> relay_cache_;
  TtlCache<std::vector<accounts::Domain>> domains_cache_;
  TtlCache<std::vector<accounts::FilterRule>> rules_cache_;
};

}  // namespace common::pg
