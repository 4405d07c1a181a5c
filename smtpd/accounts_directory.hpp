// The policy's Directory (policy.hpp) over the real accounts database, opened
// read-only. If the database cannot be opened (not created yet, permissions), lookups
// fail, which the policy turns into 451 4.3.0, and the open is retried at most once a
// second, so mail flows as soon as the database appears.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/accounts/accounts.hpp"
#include "smtpd/policy.hpp"

namespace smtpd {

class AccountsDirectory : public Directory {
 public:
  // `db` may be null (the open before the privilege drop failed).
  AccountsDirectory(std::string path, std::unique_ptr<common::accounts::Accounts> db)
      : path_(std::move(path)), db_(std::move(db)) {}

  common::Result<std::optional<DomainInfo>> domain(const std::string& name) override;
  common::Result<std::optional<MailboxInfo>> mailbox(const std::string& key) override;
  // AUTH: the account a login name refers to ("user@domain", case-insensitive, or a bare
  // local part when there is exactly one non-alias domain), if it exists and is not
  // disabled; nullopt otherwise.
  common::Result<std::optional<std::string>> login_account(const std::string& name);

 private:
  common::Status ensure_open();

  std::string path_;
  std::unique_ptr<common::accounts::Accounts> db_;
  std::chrono::steady_clock::time_point last_try_{};
  common::Status last_error_;
};

}  // namespace smtpd
