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
#include <vector>

#include "common/lmdb/lmdb.hpp"
#include "common/result.hpp"

namespace common::accounts {

inline constexpr std::uint32_t kRecordVersion = 1;

struct Domain {
  std::uint32_t version = kRecordVersion;
  std::string name;
  std::string alias_of;               // domain alias: all mail goes to the same local part there
  std::string catchall;               // address for unknown local parts ("" = reject them)
  std::int64_t default_quota = 0;     // bytes for new users, 0 = none
  std::int64_t max_message_size = 0;  // 0 = global limit
  std::int64_t max_recipients = 0;    // 0 = global limit
  std::int64_t created = 0;
  template <class F>
  void fields(F& f) {
    f(version);
    f(name);
    f(alias_of);
    f(catchall);
    f(default_quota);
    f(max_message_size);
    f(max_recipients);
    f(created);
  }
};

struct Autoreply {
  bool enabled = false;
  std::string subject;
  std::string text;
  std::int64_t start = 0;  // UNIX time, 0 = now
  std::int64_t end = 0;    // UNIX time, 0 = open-ended
  std::int64_t interval_days = 7;
  template <class F>
  void fields(F& f) {
    f(enabled);
    f(subject);
    f(text);
    f(start);
    f(end);
    f(interval_days);
  }
};

struct User {
  std::uint32_t version = kRecordVersion;
  std::string address;     // "local@domain"
  std::string maildir;     // relative to mail_directory: "domain/local"
  std::int64_t quota = 0;  // bytes, 0 = unlimited
  bool disabled = false;
  std::vector<std::string> forward;  // redirection targets
  bool keep_copy = true;             // with forward: also deliver locally
  Autoreply autoreply;
  std::int64_t created = 0;
  template <class F>
  void fields(F& f) {
    f(version);
    f(address);
    f(maildir);
    f(quota);
    f(disabled);
    f(forward);
    f(keep_copy);
    f(autoreply);
    f(created);
  }
};

struct Alias {
  std::uint32_t version = kRecordVersion;
  std::string address;
  std::vector<std::string> targets;
  template <class F>
  void fields(F& f) {
    f(version);
    f(address);
    f(targets);
  }
};

class Accounts {
 public:
  // Opens data_directory/accounts.mdb. Writable opens create it.
  static Result<std::unique_ptr<Accounts>> open(const std::string& path, bool writable);

  Result<std::optional<Domain>> domain(const std::string& name);
  Result<std::optional<User>> user(const std::string& address);
  Result<std::optional<Alias>> alias(const std::string& address);
  Result<std::vector<Domain>> domains();
  Result<std::vector<User>> users(const std::string& domain);  // "" = all
  Result<std::vector<Alias>> aliases(const std::string& domain);

  // Writes; each is one transaction.
  Status put_domain(const Domain& d);
  Status put_user(const User& u);
  Status put_alias(const Alias& a);
  // Removing a domain removes its users and aliases in the same transaction.
  Result<bool> delete_domain(const std::string& name);
  Result<bool> delete_user(const std::string& address);
  Result<bool> delete_alias(const std::string& address);

  lmdb::Env& env() { return *env_; }

 private:
  explicit Accounts(std::unique_ptr<lmdb::Env> env) : env_(std::move(env)) {}
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi domains_ = 0, users_ = 0, aliases_ = 0;
};

// Rules for names an administrator may create (stricter than RFC 5321, because they
// become directory names): domains are lower-case LDH names; user local parts are
// [a-z0-9._-], not starting with '.' or '-', without "..", at most 64 octets.
bool valid_domain_name(const std::string& d);
bool valid_user_local(const std::string& l);
// "local@domain" with both parts valid; returns the pieces.
Result<std::pair<std::string, std::string>> split_user_address(const std::string& address);

}  // namespace common::accounts
