// LookupDirectory and AccountsDirectory: the policy's lookups over an accounts Lookup
// (see accounts_directory.hpp).
#include "smtpd/accounts_directory.hpp"

#include <algorithm>
#include <ctime>

#include "common/maildir/quota_flags.hpp"

namespace smtpd {

using common::accounts::AddressBook;

std::int64_t LookupDirectory::now() { return static_cast<std::int64_t>(::time(nullptr)); }

common::Result<std::optional<DomainInfo>> LookupDirectory::domain(const std::string& name) {
  auto db = lookup();
  if (!db) return db.status();
  auto d = (*db)->domain(name);
  if (!d) return d.status();
  if (!*d) return std::optional<DomainInfo>();
  DomainInfo info{(*d)->alias_of, (*d)->catchall};
  info.max_message_size = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (*d)->max_message_size));
  info.max_recipients = static_cast<std::size_t>(std::max<std::int64_t>(0, (*d)->max_recipients));
  return std::optional<DomainInfo>(info);
}

common::Result<bool> LookupDirectory::sends_as(const std::string& user, const common::mail::Address& sender) {
  if (sender.key() == user) return true;  // the own address needs no database
  auto db = lookup();
  if (!db) return db.status();
  return AddressBook(**db, rules).sends_as(user, sender);
}

common::accounts::Recipient LookupDirectory::recipient(const common::mail::Address& rcpt) {
  auto db = lookup();
  if (!db) {
    common::accounts::Recipient r;
    r.local = true;
    r.why = common::accounts::Class::kTempFail;
    r.verdict = common::mail::Verdict{common::mail::Outcome::kTemporary, "4.3.0", db.message()};
    return r;
  }
  common::accounts::Rules r = rules;
  r.srs_secret = srs_secret();
  AddressBook book(**db, std::move(r));
  return book.rcpt(rcpt, now(), [this](const std::string& user) { return mailbox_full(user); });
}

common::Result<std::vector<common::accounts::FilterRule>> LookupDirectory::filter_rules() {
  auto db = lookup();
  if (!db) return db.status();
  return (*db)->filter_rules();
}

common::Result<std::vector<std::string>> LookupDirectory::atrn_domains(const std::string& login) {
  auto db = lookup();
  if (!db) return db.status();
  auto grants = (*db)->atrn_grants(login);
  if (!grants) return grants.status();
  std::vector<std::string> out;
  for (const auto& g : *grants) out.push_back(g.domain);
  return out;
}

common::Result<std::optional<std::string>> LookupDirectory::login_account(const std::string& name) {
  auto db = lookup();
  if (!db) return db.status();
  auto login = AddressBook(**db, rules).login(name);
  if (!login) return login.status();
  if (!*login) return std::optional<std::string>();
  return std::optional<std::string>((*login)->address);
}

void AccountsDirectory::set_local_rules(std::string quota_flags_dir, std::string srs_secret,
                                        const common::config::Config& cfg) {
  quota_flags_ = std::move(quota_flags_dir);
  srs_secret_ = std::move(srs_secret);
  rules.hostname = cfg.hostname;
  rules.postmaster_address = cfg.postmaster_address;
  rules.recipient_delimiter = cfg.recipient_delimiter;
}

common::Result<common::accounts::Lookup*> AccountsDirectory::lookup() {
  if (db_) return static_cast<common::accounts::Lookup*>(db_.get());
  auto now = std::chrono::steady_clock::now();
  if (last_try_ != std::chrono::steady_clock::time_point{} && now - last_try_ < std::chrono::seconds(1))
    return last_error_;
  last_try_ = now;
  if (open_) {
    auto a = open_();
    if (!a) {
      last_error_ = common::Status::error("accounts database: " + a.message());
      return last_error_;
    }
    db_ = std::move(*a);
    return static_cast<common::accounts::Lookup*>(db_.get());
  }
  auto a = common::accounts::Accounts::open(path_, false);
  if (!a) {
    last_error_ = common::Status::error("accounts database " + path_ + ": " + a.message());
    return last_error_;
  }
  db_ = std::move(*a);
  return static_cast<common::accounts::Lookup*>(db_.get());
}

bool AccountsDirectory::mailbox_full(const std::string& user) {
  return !quota_flags_.empty() && common::maildir::has_full_flag(quota_flags_, user);
}

std::string AccountsDirectory::srs_secret() { return srs_secret_; }

}  // namespace smtpd
