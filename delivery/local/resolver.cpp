// Implementation of recipient resolution (see resolver.hpp).
#include "delivery/local/resolver.hpp"

#include "common/log/log.hpp"
#include "common/mail/address.hpp"
#include "delivery/local/maildir.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

namespace log = common::log;

Resolver::Resolver(std::string accounts_path, std::string mail_root)
    : accounts_path_(std::move(accounts_path)), mail_root_(std::move(mail_root)) {}

common::accounts::Accounts* Resolver::accounts(std::string* why) {
  if (!accounts_) {
    auto a = common::accounts::Accounts::open(accounts_path_, false);
    if (!a) {
      *why = a.message();
      return nullptr;
    }
    accounts_ = std::move(*a);
  }
  return accounts_.get();
}

Resolution Resolver::resolve(const std::string& recipient) {
  Resolution r;
  // The queue manager validated the address when the message was queued; parse again
  // for the lookup key. RFC 5321 2.4 leaves the meaning of a local part to its host;
  // ours are lower-case, so the key folds case.
  auto addr = common::mail::parse_mailbox(recipient, true);
  if (!addr || addr->domain.empty()) {
    r.failure = permanent("5.1.3", "bad recipient address syntax");
    return r;
  }
  std::string why;
  auto* db = accounts(&why);
  if (!db) {
    log::error("cannot open accounts database: %s", why.c_str());
    r.failure = temporary("4.3.0", "accounts database unavailable");
    return r;
  }
  std::string key = addr->key();
  auto user = db->user(key);
  if (!user) {
    log::error("accounts database lookup of %s failed: %s", log::printable(key).c_str(),
               user.message().c_str());
    // Re-open next time: the file may have been replaced.
    accounts_.reset();
    r.failure = temporary("4.3.0", "accounts database error");
    return r;
  }
  if (!*user) {
    if (key.starts_with("postmaster@"))
      log::warn("no mailbox for %s: create the user or an alias (RFC 5321 4.5.1 requires it)",
                log::printable(key).c_str());
    r.failure = permanent("5.1.1", "no such user");
    return r;
  }
  const auto& u = **user;
  if (u.disabled) {
    r.failure = permanent("5.2.1", "mailbox disabled");
    return r;
  }
  if (!valid_relative_maildir(u.maildir)) {
    log::error("user %s has a bad maildir path '%s' in the accounts database",
               log::printable(key).c_str(), log::printable(u.maildir).c_str());
    r.failure = temporary("4.3.0", "mailbox misconfigured");
    return r;
  }
  r.mailboxes.push_back(Mailbox{u.address.empty() ? key : u.address, mail_root_ + "/" + u.maildir});
  return r;
}

}  // namespace delivery::local
