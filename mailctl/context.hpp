// What every mailctl subcommand works with: the loaded configuration, whether it runs
// as root (then it creates system users and sets owners), and its three streams (tests
// pass files instead of the terminal).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/accounts/passwd.hpp"
#include "common/config/config.hpp"
#include "common/mail/ascii.hpp"
#include "common/spool/layout.hpp"

namespace mailctl {

struct Context {
  common::config::Config cfg;
  bool as_root = false;
  std::FILE* in = stdin;
  std::FILE* out = stdout;
  std::FILE* err = stderr;

  common::spool::Layout layout() const { return common::spool::Layout(cfg); }
};

// "mailctl: <msg>" on the error stream.
void complain(Context& ctx, const std::string& msg);

// The databases, opened for writing. They must exist already (made by `mailctl init`
// with the right owners and modes); a missing one is an error, never silently created.
// With accounts_backend = postgresql: the shared database (common/pg/backend.hpp).
common::Result<std::unique_ptr<common::accounts::Store>> open_accounts(Context& ctx);
common::Result<std::unique_ptr<common::accounts::PasswordStore>> open_passwords(Context& ctx);

// ASCII lower-case, for domain names and addresses typed by the administrator.
using common::mail::lower;

// A domain name typed by the administrator, lower-cased; a UTF-8 one (bücher.test) in
// its A-label form (xn--bcher-kva.test), the form Mailbag stores and smtpd matches
// (common/mail/idna.hpp). One that has no A-label form comes back as typed, for the
// caller's validation to refuse.
std::string domain_arg(const std::string& arg);
// An address typed by the administrator, lower-cased, its domain as A-labels when it
// has a UTF-8 one (and the local part is ASCII); otherwise as typed.
std::string address_arg(const std::string& arg);

}  // namespace mailctl
