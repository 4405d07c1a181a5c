// The policy's Directory (policy.hpp) over an accounts Lookup, answering through the
// address book (common/accounts/address_book.hpp): LookupDirectory holds the rules and
// the mapping; AccountsDirectory is the daemon's, over the real accounts database opened
// read-only. If the database cannot be opened (not created yet, permissions), lookups
// fail, which the policy turns into 451 4.3.0, and the open is retried at most once a
// second, so mail flows as soon as the database appears.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/accounts/address_book.hpp"
#include "common/config/config.hpp"
#include "smtpd/policy.hpp"

namespace smtpd {

class LookupDirectory : public Directory {
 public:
  common::Result<std::optional<DomainInfo>> domain(const std::string& name) override;
  common::Result<bool> sends_as(const std::string& user, const common::mail::Address& sender) override;
  common::accounts::Recipient recipient(const common::mail::Address& rcpt) override;
  common::Result<std::vector<common::accounts::FilterRule>> filter_rules() override;
  common::Result<std::vector<std::string>> atrn_domains(const std::string& login) override;
  // AUTH: the account a login name refers to (AddressBook::login), if any.
  common::Result<std::optional<std::string>> login_account(const std::string& name);

  // hostname, postmaster_address and recipient_delimiter as the local agent has them.
  common::accounts::Rules rules;

 protected:
  // The database; an error: it cannot be read now.
  virtual common::Result<common::accounts::Lookup*> lookup() = 0;
  // Has the local agent flagged this user's mailbox full?
  virtual bool mailbox_full(const std::string& /*user*/) { return false; }
  // The SRS secret ("" if unknown) and the time SRS ages are checked against.
  virtual std::string srs_secret() { return rules.srs_secret; }
  virtual std::int64_t now();
};

class AccountsDirectory : public LookupDirectory {
 public:
  // `db` may be null (the open before the privilege drop failed).
  AccountsDirectory(std::string path, std::unique_ptr<common::accounts::Lookup> db)
      : path_(std::move(path)), db_(std::move(db)) {}
  // How to open the database when it is not open yet (default: the LMDB file at `path`).
  using Opener = std::function<common::Result<std::unique_ptr<common::accounts::Lookup>>()>;
  void set_opener(Opener open) { open_ = std::move(open); }

  // What the local agent shares with smtpd beyond accounts.mdb: the "mailbox full" flags
  // (data_directory/quota), the SRS secret (read by pre_jail as root: srs.secret is
  // root's alone; "" if it was missing) and the address rules of the configuration.
  void set_local_rules(std::string quota_flags_dir, std::string srs_secret,
                       const common::config::Config& cfg);

 protected:
  common::Result<common::accounts::Lookup*> lookup() override;
  bool mailbox_full(const std::string& user) override;
  std::string srs_secret() override;

 private:
  std::string path_;
  std::unique_ptr<common::accounts::Lookup> db_;
  Opener open_;
  std::chrono::steady_clock::time_point last_try_{};
  common::Status last_error_;
  std::string quota_flags_;
  std::string srs_secret_;
};

}  // namespace smtpd
