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

  // What the local agent shares with smtpd beyond accounts.mdb: the "mailbox full" flags
  // (data_directory/quota), the SRS secret (read when first needed, retried each
  // minute while missing) and recipient_delimiter (user+tag finds user).
  void set_local_rules(std::string quota_flags_dir, std::string srs_secret_path, std::string delimiter) {
    quota_flags_ = std::move(quota_flags_dir);
    srs_path_ = std::move(srs_secret_path);
    delimiter_ = std::move(delimiter);
  }

  common::Result<std::optional<DomainInfo>> domain(const std::string& name) override;
  // With a recipient_delimiter, "user+tag@d" that is no user or alias of its own is
  // looked up as "user@d".
  common::Result<std::optional<MailboxInfo>> mailbox(const std::string& key) override;
  bool valid_srs(std::string_view local) override;
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
  std::string quota_flags_, srs_path_, delimiter_;
  std::string srs_secret_;
  std::chrono::steady_clock::time_point srs_last_try_{};
};

}  // namespace smtpd
