// The accounts database as mailctl edits it: the read side (lookup.hpp) plus listings
// and writes. Accounts (accounts.hpp) implements it on LMDB, PgAccounts
// (common/pg/pg_accounts.hpp) on PostgreSQL; backend.hpp opens the configured one, so
// mailctl and the daemons never know which they have. Password hashes have their own
// store (PasswordStore), which only the authentication daemon and mailctl open.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts/lookup.hpp"
#include "common/accounts/records.hpp"
#include "common/result.hpp"

namespace common::accounts {

class Store : public Lookup {
 public:
  virtual Result<std::vector<User>> users(const std::string& domain) = 0;  // "" = all
  virtual Result<std::vector<Alias>> aliases(const std::string& domain) = 0;
  // The keys of one domain's relay recipient list ("" = all lists), "@domain" included.
  virtual Result<std::vector<std::string>> relay_recipients(const std::string& domain) = 0;
  // Adds `addresses` (keys of `domain`) to its list, creating the list; with `replace`,
  // the list becomes exactly them. One transaction.
  virtual Status put_relay_recipients(const std::string& domain, const std::vector<std::string>& addresses,
                                      bool replace) = 0;
  virtual Result<bool> delete_relay_recipient(const std::string& key) = 0;
  virtual Result<bool> delete_relay_list(const std::string& domain) = 0;
  // Adds or replaces the rule with the same key; true if it replaced one.
  virtual Result<bool> put_filter_rule(const FilterRule& r) = 0;
  virtual Result<bool> delete_filter_rule(const FilterRule& r) = 0;
  // ODMR grants (mailctl atrn; read with Lookup::atrn_grants): adding an existing one
  // changes nothing; deleting says whether it was there.
  virtual Status put_atrn_grant(const AtrnGrant& g) = 0;
  virtual Result<bool> delete_atrn_grant(const AtrnGrant& g) = 0;
  // Writes; each is one transaction.
  virtual Status put_domain(const Domain& d) = 0;
  virtual Status put_user(const User& u) = 0;
  virtual Status put_alias(const Alias& a) = 0;
  // Removing a domain removes its users and aliases in the same transaction.
  virtual Result<bool> delete_domain(const std::string& name) = 0;
  virtual Result<bool> delete_user(const std::string& address) = 0;
  virtual Result<bool> delete_alias(const std::string& address) = 0;
};

// Password hashes by account address (yescrypt, passwd.hpp).
class PasswordStore {
 public:
  virtual ~PasswordStore() = default;
  virtual Result<std::optional<std::string>> hash(const std::string& address) = 0;
  virtual Status set(const std::string& address, const std::string& hash) = 0;
  virtual Result<bool> remove(const std::string& address) = 0;
  // True if the user has a hash and the password matches it. A missing user costs the
  // same time as a wrong password, so timing does not tell which users exist.
  Result<bool> verify(const std::string& address, std::string_view password);
};

}  // namespace common::accounts
