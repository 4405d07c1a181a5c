// The read side of the accounts database as an interface: what the address book
// (address_book.hpp) asks. Accounts (accounts.hpp) implements it on LMDB and PgAccounts
// (common/pg/pg_accounts.hpp) on PostgreSQL; common/pg/backend.hpp opens the configured
// one. MemoryLookup below holds records in maps (the tests; the queue manager's list of
// local domains). Keys are lower-case, as in accounts.hpp. An error means "cannot tell
// now" (the callers answer 4.3.0). A PostgreSQL lookup may wait for the network: the
// daemons call it only off their event loop (common/pg/db_queue.hpp).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/accounts/records.hpp"
#include "common/result.hpp"

namespace common::accounts {

class Lookup {
 public:
  virtual ~Lookup() = default;
  virtual Result<std::optional<Domain>> domain(const std::string& name) = 0;
  virtual Result<std::optional<User>> user(const std::string& address) = 0;
  virtual Result<std::optional<Alias>> alias(const std::string& address) = 0;
  virtual Result<std::vector<Domain>> domains() = 0;
  // Relay recipient lists (records.hpp RelayRecipient): does `domain` have one, and is
  // the address `key` on it. A lookup without lists has none.
  virtual Result<bool> relay_list(const std::string& /*domain*/) { return false; }
  virtual Result<bool> relay_recipient(const std::string& /*key*/) { return false; }
  // The administrator's filtering rules (records.hpp FilterRule). None by default.
  virtual Result<std::vector<FilterRule>> filter_rules() { return std::vector<FilterRule>(); }
  // ODMR (records.hpp AtrnGrant): the domains account `login` may pull with ATRN ("":
  // every account's), in key order. None by default.
  virtual Result<std::vector<AtrnGrant>> atrn_grants(const std::string& /*login*/) {
    return std::vector<AtrnGrant>();
  }
};

// Records held in maps; `broken` makes every lookup fail (a database that cannot be read).
class MemoryLookup : public Lookup {
 public:
  Result<std::optional<Domain>> domain(const std::string& name) override { return find(domain_map, name); }
  Result<std::optional<User>> user(const std::string& address) override { return find(user_map, address); }
  Result<std::optional<Alias>> alias(const std::string& address) override { return find(alias_map, address); }
  Result<std::vector<Domain>> domains() override {
    if (broken) return Status::error("database unreadable");
    std::vector<Domain> out;
    for (const auto& [k, d] : domain_map) out.push_back(d);
    return out;
  }

  Result<bool> relay_list(const std::string& domain) override {
    return has(relay_recipient_set, "@" + domain);
  }
  Result<bool> relay_recipient(const std::string& key) override { return has(relay_recipient_set, key); }
  Result<std::vector<FilterRule>> filter_rules() override {
    if (broken) return Status::error("database unreadable");
    return filter_rule_list;
  }
  Result<std::vector<AtrnGrant>> atrn_grants(const std::string& login) override {
    if (broken) return Status::error("database unreadable");
    std::vector<AtrnGrant> out;
    for (const auto& k : atrn_grant_set) {
      auto sp = k.find(' ');
      AtrnGrant g;
      g.login = k.substr(0, sp);
      g.domain = k.substr(sp + 1);
      if (login.empty() || g.login == login) out.push_back(std::move(g));
    }
    return out;
  }

  Domain& add_domain(const std::string& name, const std::string& alias_of = "",
                     const std::string& catchall = "") {
    Domain& d = domain_map[name];
    d.name = name;
    d.alias_of = alias_of;
    d.catchall = catchall;
    return d;
  }
  // A user whose Maildir is "domain/local".
  User& add_user(const std::string& address) {
    User& u = user_map[address];
    u.address = address;
    auto at = address.rfind('@');
    u.maildir = address.substr(at + 1) + "/" + address.substr(0, at);
    return u;
  }
  Alias& add_alias(const std::string& address, std::vector<std::string> targets) {
    Alias& a = alias_map[address];
    a.address = address;
    a.targets = std::move(targets);
    return a;
  }

  std::map<std::string, Domain> domain_map;
  std::map<std::string, User> user_map;
  std::map<std::string, Alias> alias_map;
  std::set<std::string> relay_recipient_set;  // "local@domain", and "@domain" for a list
  std::vector<FilterRule> filter_rule_list;
  std::set<std::string> atrn_grant_set;  // "login domain"
  bool broken = false;

 private:
  Result<bool> has(const std::set<std::string>& s, const std::string& key) {
    if (broken) return Status::error("database unreadable");
    return s.count(key) > 0;
  }
  template <class T>
  Result<std::optional<T>> find(const std::map<std::string, T>& m, const std::string& key) {
    if (broken) return Status::error("database unreadable");
    auto it = m.find(key);
    if (it == m.end()) return std::optional<T>();
    return std::optional<T>(it->second);
  }
};

}  // namespace common::accounts
