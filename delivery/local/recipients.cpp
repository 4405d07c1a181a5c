// The local agent's recipients over the accounts database (see recipients.hpp).
#include "delivery/local/recipients.hpp"

#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

namespace log = common::log;
using common::mail::lower;

Recipients::Recipients(std::string accounts_path, std::string mail_root) {
  cfg_.accounts_path = std::move(accounts_path);
  cfg_.mail_root = std::move(mail_root);
}

common::accounts::Lookup* Recipients::accounts(std::string* why) {
  if (!accounts_ && cfg_.open) {
    auto a = cfg_.open();
    if (!a) {
      *why = a.message();
      return nullptr;
    }
    accounts_ = std::move(*a);
  }
  if (!accounts_) {
    auto a = common::accounts::Accounts::open(cfg_.accounts_path, false);
    if (!a) {
      *why = a.message();
      return nullptr;
    }
    accounts_ = std::move(*a);
  }
  return accounts_.get();
}

Resolution Recipients::expand(const std::string& recipient, const std::set<std::string>& loop_marks,
                              std::int64_t now) {
  std::string why;
  auto* db = accounts(&why);
  if (!db) {
    log::error("cannot open accounts database: %s", why.c_str());
    Resolution r;
    r.failure = temporary("4.3.0", "accounts database unavailable");
    r.why = common::accounts::Class::kTempFail;
    return r;
  }
  Resolution r = common::accounts::AddressBook(*db, cfg_).expand(recipient, loop_marks, now);
  if (r.db_error) reset();
  return r;
}

common::Result<bool> Recipients::is_local_domain(const std::string& domain) {
  std::string why;
  auto* db = accounts(&why);
  if (!db) return common::Status::error("accounts database: " + why);
  auto d = db->domain(lower(domain));
  if (!d) {
    reset();
    return d.status();
  }
  return d->has_value();
}

common::Result<std::optional<common::accounts::User>> Recipients::user(const std::string& address) {
  std::string why;
  auto* db = accounts(&why);
  if (!db) return common::Status::error("accounts database: " + why);
  auto u = db->user(lower(address));
  if (!u) reset();
  return u;
}

}  // namespace delivery::local
