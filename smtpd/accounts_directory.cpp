// AccountsDirectory: the policy's lookups over accounts.mdb (see accounts_directory.hpp).
#include "smtpd/accounts_directory.hpp"

#include <algorithm>
#include <ctime>

#include "common/mail/ascii.hpp"
#include "common/mail/srs.hpp"
#include "common/maildir/quota_flags.hpp"

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
  DomainInfo info{(*d)->alias_of, (*d)->catchall};
  info.max_message_size = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (*d)->max_message_size));
  info.max_recipients = static_cast<std::size_t>(std::max<std::int64_t>(0, (*d)->max_recipients));
  return std::optional<DomainInfo>(info);
}

common::Result<std::optional<MailboxInfo>> AccountsDirectory::mailbox(const std::string& key) {
  MB_TRY(ensure_open());
  for (int pass = 0; pass < 2; ++pass) {
    std::string k = key;
    if (pass == 1) {
      // Subaddressing (recipient_delimiter): "user+tag@d" -> "user@d".
      auto at = key.rfind('@');
      auto cut = delimiter_.empty() ? std::string::npos : key.find_first_of(delimiter_);
      if (at == std::string::npos || cut == std::string::npos || cut == 0 || cut > at) break;
      k = key.substr(0, cut) + key.substr(at);
    }
    auto u = db_->user(k);
    if (!u) return u.status();
    if (*u) {
      MailboxInfo m{(*u)->disabled, false, {}};
      m.full = !quota_flags_.empty() && common::maildir::has_full_flag(quota_flags_, k);
      return std::optional<MailboxInfo>(m);
    }
    auto a = db_->alias(k);
    if (!a) return a.status();
    if (*a) return std::optional<MailboxInfo>(MailboxInfo{false, true, (*a)->targets});
  }
  return std::optional<MailboxInfo>();
}

bool AccountsDirectory::valid_srs(std::string_view local) {
  if (srs_secret_.empty() && !srs_path_.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (srs_last_try_ == std::chrono::steady_clock::time_point{} ||
        now - srs_last_try_ >= std::chrono::minutes(1)) {
      srs_last_try_ = now;
      auto s = common::mail::srs::load_secret(srs_path_);
      if (s) srs_secret_ = std::move(*s);
    }
  }
  if (srs_secret_.empty()) return false;
  return common::mail::srs::reverse(srs_secret_, local, static_cast<std::int64_t>(::time(nullptr))).is_ok();
}

common::Result<std::optional<std::string>> AccountsDirectory::login_account(const std::string& name) {
  MB_TRY(ensure_open());
  std::string key = common::mail::lower(name);
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
