// The local agent's recipients: envelope recipient -> what to do with the message for
// it. The decision is the address book's (common/accounts/address_book.hpp, which also
// answers smtpd at RCPT and the queue manager's choice of agent, so that all three
// agree); this class holds the agent's rules and the accounts database, opened read-only
// on first use and re-opened after a lookup error (the file may have been replaced), so
// the agent starts, and answers "try later", before mailctl init has run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/accounts/address_book.hpp"
#include "common/result.hpp"

namespace delivery::local {

using common::accounts::Mailbox;
using Resolution = common::accounts::Expansion;

// The address rules (hostname, postmaster_address, recipient_delimiter, mail_root,
// srs_secret) and where the accounts database is.
struct RecipientsConfig : common::accounts::Rules {
  std::string accounts_path;
  // Opens the configured backend instead of the LMDB file at accounts_path (PostgreSQL:
  // the store re-connects by itself, so it is kept across lookup errors).
  std::function<common::Result<std::unique_ptr<common::accounts::Lookup>>()> open;
};

class Recipients {
 public:
  explicit Recipients(RecipientsConfig cfg) : cfg_(std::move(cfg)) {}
  Recipients(std::string accounts_path, std::string mail_root);

  // The address book's expansion (AddressBook::expand): `loop_marks` are the lower-cased
  // Delivered-To values of the message.
  Resolution expand(const std::string& recipient, const std::set<std::string>& loop_marks, std::int64_t now);

  // Is `domain` one of ours (a domain record exists)? For SRS: mail from our own
  // domains keeps its sender.
  common::Result<bool> is_local_domain(const std::string& domain);
  // The user record of `address` (for the over-quota flag re-check).
  common::Result<std::optional<common::accounts::User>> user(const std::string& address);

  const RecipientsConfig& config() const { return cfg_; }
  // A reload: the settings for the next expansions (the open database stays).
  void set_config(RecipientsConfig cfg) { cfg_ = std::move(cfg); }

 private:
  common::accounts::Lookup* accounts(std::string* why);
  void reset() {
    if (!cfg_.open) accounts_.reset();  // re-open next time: the file may have been replaced
  }

  RecipientsConfig cfg_;
  std::unique_ptr<common::accounts::Lookup> accounts_;
};

}  // namespace delivery::local
