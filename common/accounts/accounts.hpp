// The accounts database (accounts.mdb, LMDB): domains, users and aliases, written by
// mailctl and read by smtpd (recipient checks), queue-manager (which domains are local),
// local (Maildir paths, aliases, quotas) and pop3d. Password hashes are kept apart, in
// passwd.mdb (passwd.hpp), so that the programs that do not authenticate cannot read them.
// Keys are lower-case: domains "example.org", users and aliases "local@example.org".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts/lookup.hpp"
#include "common/accounts/records.hpp"
#include "common/accounts/store.hpp"
#include "common/lmdb/lmdb.hpp"
#include "common/result.hpp"

namespace common::accounts {

class Accounts : public Store {
 public:
  // Opens data_directory/accounts.mdb. Writable opens create it.
  static Result<std::unique_ptr<Accounts>> open(const std::string& path, bool writable);

  Result<std::optional<Domain>> domain(const std::string& name) override;
  Result<std::optional<User>> user(const std::string& address) override;
  Result<std::optional<Alias>> alias(const std::string& address) override;
  Result<std::vector<Domain>> domains() override;
  Result<std::vector<User>> users(const std::string& domain) override;  // "" = all
  Result<std::vector<Alias>> aliases(const std::string& domain) override;
  // Relay recipient lists (relay_recipients.cpp).
  Result<bool> relay_list(const std::string& domain) override;
  Result<bool> relay_recipient(const std::string& key) override;
  // The keys of one domain's list ("" = all lists), its "@domain" marker included.
  Result<std::vector<std::string>> relay_recipients(const std::string& domain) override;
  // Adds `addresses` (keys of `domain`) to its list, creating the list; with `replace`,
  // the list becomes exactly them. One transaction.
  Status put_relay_recipients(const std::string& domain, const std::vector<std::string>& addresses,
                              bool replace) override;
  Result<bool> delete_relay_recipient(const std::string& key) override;
  // Removes the domain's whole list: any local part is accepted again.
  Result<bool> delete_relay_list(const std::string& domain) override;
  // Filtering rules (filter_rules.cpp, mailctl rule): all of them, in key order.
  Result<std::vector<FilterRule>> filter_rules() override;
  // Adds or replaces the rule with the same key; true if it replaced one.
  Result<bool> put_filter_rule(const FilterRule& r) override;
  Result<bool> delete_filter_rule(const FilterRule& r) override;
  // ODMR grants (atrn_grants.cpp, mailctl atrn).
  Result<std::vector<AtrnGrant>> atrn_grants(const std::string& login) override;
  Status put_atrn_grant(const AtrnGrant& g) override;
  Result<bool> delete_atrn_grant(const AtrnGrant& g) override;

  // Writes; each is one transaction.
  Status put_domain(const Domain& d) override;
  Status put_user(const User& u) override;
  Status put_alias(const Alias& a) override;
  // Removing a domain removes its users and aliases in the same transaction.
  Result<bool> delete_domain(const std::string& name) override;
  Result<bool> delete_user(const std::string& address) override;
  Result<bool> delete_alias(const std::string& address) override;

  lmdb::Env& env() { return *env_; }

 private:
  explicit Accounts(std::unique_ptr<lmdb::Env> env) : env_(std::move(env)) {}
  // The relay recipient database, opened on first use: an accounts.mdb written before
  // it existed has none until mailctl writes a list (a reader then finds no lists).
  Result<std::optional<MDB_dbi>> relay_dbi();
  Result<std::optional<MDB_dbi>> rules_dbi();  // the same for the filtering rules
  Result<std::optional<MDB_dbi>> atrn_dbi();   // and for the ODMR grants
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi domains_ = 0, users_ = 0, aliases_ = 0;
  bool writable_ = false;
};

// Rules for names an administrator may create (stricter than RFC 5321, because they
// become directory names): domains are lower-case LDH names; user local parts are
// [a-z0-9._-], not starting with '.' or '-', without "..", at most 64 octets.
bool valid_domain_name(const std::string& d);
bool valid_user_local(const std::string& l);
// "local@domain" with both parts valid; returns the pieces.
Result<std::pair<std::string, std::string>> split_user_address(const std::string& address);
// A user's Maildir path, relative to mail_directory: no empty, "." or ".." component, no
// leading or trailing '/', printable ASCII only, at most 1024 octets. A record that breaks
// this was not written by mailctl, and no program follows it out of mail_directory.
bool valid_relative_maildir(std::string_view rel);

// The key of a filtering rule: kind, scope and pattern (the attachment size limit is one
// setting). LMDB keys are at most 511 octets.
std::string filter_rule_key(const FilterRule& r);
inline constexpr std::size_t kMaxFilterRuleKey = 500;

}  // namespace common::accounts
