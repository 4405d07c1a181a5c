// AccountsDirectory: the policy's lookups over accounts.mdb (see accounts_directory.hpp).
#include "smtpd/accounts_directory.hpp"

namespace smtpd {

common::Status AccountsDirectory::ensure_open() {
  if (db_) return common::Status::ok();
  auto now = std::chrono::steady_clock::now();
  if (last_try_ != std::chrono::steady_clock::time_point{} && now - last_try_ < std::chrono::seconds(1))
    return last_error_;
  last_try_ = now;
  auto a = common::accounts::Accounts::open(path_, false);
  if (!a) {
    last_error_ = common::Status::error("accounts database " + path_ + ": " + a.message());
    return last_error_;
  }
  db_ = std::move(*a);
  return common::Status::ok();
}

common::Result<std::optional<DomainInfo>> AccountsDirectory::domain(const std::string& name) {
  MB_TRY(ensure_open());
  auto d = db_->domain(name);
  if (!d) return d.status();
  if (!*d) return std::optional<DomainInfo>();
  return std::optional<DomainInfo>(DomainInfo{(*d)->alias_of, (*d)->catchall});
}

common::Result<std::optional<MailboxInfo>> AccountsDirectory::mailbox(const std::string& key) {
  MB_TRY(ensure_open());
  auto u = db_->user(key);
  if (!u) return u.status();
  if (*u) return std::optional<MailboxInfo>(MailboxInfo{(*u)->disabled, false, {}});
  auto a = db_->alias(key);
  if (!a) return a.status();
  if (*a) return std::optional<MailboxInfo>(MailboxInfo{false, true, (*a)->targets});
  return std::optional<MailboxInfo>();
}

common::Result<std::optional<std::string>> AccountsDirectory::login_account(const std::string& name) {
  MB_TRY(ensure_open());
  std::string key;
  for (char c : name) key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (key.find('@') == std::string::npos) {
    // A bare local part names a user of the only real (non-alias) domain, if there is
    // exactly one (the seeds' "bob" for bob@yourcompany.com).
    auto ds = db_->domains();
    if (!ds) return ds.status();
    const common::accounts::Domain* only = nullptr;
    for (const auto& d : *ds) {
      if (!d.alias_of.empty()) continue;
      if (only) return std::optional<std::string>();
      only = &d;
    }
    if (!only) return std::optional<std::string>();
    key += "@" + only->name;
  }
  auto u = db_->user(key);
  if (!u) return u.status();
  if (!*u || (*u)->disabled) return std::optional<std::string>();
  return std::optional<std::string>(key);
}

}  // namespace smtpd
