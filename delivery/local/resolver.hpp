// Recipient resolution for the local agent: envelope recipient -> the Maildir(s) that
// get a copy, or a verdict that says why none does. Today one lookup in accounts.mdb;
// aliases, forwarding, catch-all and quotas slot in here (resolve() may then return
// several mailboxes for one recipient) without touching the Maildir writer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/mail/outcome.hpp"

namespace delivery::local {

struct Mailbox {
  std::string address;  // the user it belongs to ("user@domain"), for Delivered-To
  std::string path;     // absolute Maildir path
};

struct Resolution {
  std::optional<common::mail::Verdict> failure;  // set: no delivery, this is the answer
  std::vector<Mailbox> mailboxes;                // otherwise: at least one
};

class Resolver {
 public:
  // `accounts_path` is opened read-only on first use and re-tried after a failure, so
  // the agent starts (and answers "try later") before mailctl init has run.
  Resolver(std::string accounts_path, std::string mail_root);

  Resolution resolve(const std::string& recipient);

 private:
  common::accounts::Accounts* accounts(std::string* why);

  std::string accounts_path_;
  std::string mail_root_;
  std::unique_ptr<common::accounts::Accounts> accounts_;
};

}  // namespace delivery::local
