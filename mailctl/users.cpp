// `mailctl user add|del|list|passwd`: users in accounts.mdb, their password hashes in
// passwd.mdb, and their Maildirs. Passwords are read by password.hpp, hashed with
// yescrypt (common/accounts/passwd.hpp) and never printed or logged. A password hash is
// removed before its user record, so a half-done removal can never leave a login behind.
#include <sysexits.h>

#include <ctime>

#include "common/accounts/passwd.hpp"
#include "common/maildir/quota_flags.hpp"
#include "mailctl/accounts_edit.hpp"
#include "mailctl/as_owner.hpp"
#include "mailctl/commands.hpp"
#include "mailctl/fs.hpp"
#include "mailctl/password.hpp"

namespace mailctl {
namespace {

// Parses "local@domain" (lower-cased); complains and returns nullopt if invalid.
std::optional<std::pair<std::string, std::string>> parse_address(Context& ctx, const std::string& arg) {
  auto parts = common::accounts::split_user_address(address_arg(arg));
  if (!parts) {
    complain(ctx, parts.message());
    return std::nullopt;
  }
  return *parts;
}

// The existing user `arg` ("local@domain") names, its canonical `address`, and
// accounts.mdb open: where `user del` and `user passwd` start.
int load_named_user(Context& ctx, const std::string& arg, AccountsDb* db, std::string* address,
                    common::accounts::User* u) {
  auto parts = parse_address(ctx, arg);
  if (!parts) return kExitRefused;
  *address = parts->first + "@" + parts->second;
  return load_user(ctx, *address, *address, db, u);
}

int set_password(Context& ctx, const std::string& address) {
  auto pw = read_new_password(ctx.in, ctx.err);
  if (!pw) {
    complain(ctx, pw.message());
    return kExitRefused;
  }
  auto hash = common::accounts::hash_password(pw->str());
  if (!hash) {
    complain(ctx, "cannot hash the password: " + hash.message());
    return EX_IOERR;
  }
  PasswordsDb db;
  if (int rc = open_passwords_db(ctx, &db); rc != kExitOk) return rc;
  return check_io(ctx, db->set(address, *hash));
}

}  // namespace

int cmd_user_add(Context& ctx, const std::string& arg) {
  auto parts = parse_address(ctx, arg);
  if (!parts) return kExitRefused;
  const auto& [local, domain] = *parts;
  std::string address = local + "@" + domain;
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto dom = db->domain(domain);
  auto have = db->user(address);
  auto alias = db->alias(address);
  if (!dom || !have || !alias) {
    complain(ctx, !dom ? dom.message() : !have ? have.message() : alias.message());
    return EX_IOERR;
  }
  if (!*dom) {
    complain(ctx, "no such domain: " + domain + " (add it with 'mailctl domain add " + domain + "')");
    return kExitRefused;
  }
  if (!(*dom)->alias_of.empty()) {
    complain(ctx, domain + " is an alias of " + (*dom)->alias_of + "; add the user there");
    return kExitRefused;
  }
  if (*have) {
    complain(ctx, "user " + address + " already exists");
    return kExitRefused;
  }
  if (*alias) {
    complain(ctx, address + " is an alias; remove the alias first");
    return kExitRefused;
  }
  // The password first: a refused or mistyped one leaves nothing behind.
  if (int rc = set_password(ctx, address); rc != kExitOk) return rc;
  common::accounts::User u;
  u.address = address;
  u.maildir = domain + "/" + local;
  u.quota = (*dom)->default_quota;
  u.created = std::time(nullptr);
  if (auto st = db->put_user(u); !st) {
    complain(ctx, st.message());
    if (auto pw = open_passwords(ctx)) (void)(*pw)->remove(address);
    return EX_IOERR;
  }
  auto st = make_maildir(ctx, domain, local);
  std::fprintf(ctx.out, "added user %s, Maildir %s/%s\n", address.c_str(), ctx.cfg.mail_directory.c_str(),
               u.maildir.c_str());
  if (!st)
    complain(ctx, "warning: cannot create the Maildir (" + st.message() +
                      "); the local agent creates it at the first delivery");
  return kExitOk;
}

int cmd_user_del(Context& ctx, const std::string& arg) {
  AccountsDb db;
  std::string address;
  common::accounts::User have;
  if (int rc = load_named_user(ctx, arg, &db, &address, &have); rc != kExitOk) return rc;
  PasswordsDb pw;
  if (int rc = open_passwords_db(ctx, &pw); rc != kExitOk) return rc;
  if (int rc = check_io(ctx, pw->remove(address).status()); rc != kExitOk) return rc;
  if (int rc = check_io(ctx, db->delete_user(address).status()); rc != kExitOk) return rc;
  (void)clear_full_flag(ctx, address);
  std::fprintf(ctx.out, "deleted user %s; Maildir kept at %s/%s\n", address.c_str(),
               ctx.cfg.mail_directory.c_str(), have.maildir.c_str());
  return kExitOk;
}

int cmd_user_list(Context& ctx, const std::string& arg) {
  std::string domain = domain_arg(arg);
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  if (int rc = check_domain_filter(ctx, *db, domain, arg); rc != kExitOk) return rc;
  auto users = db->users(domain);
  if (int rc = check_io(ctx, users.status()); rc != kExitOk) return rc;
  for (const auto& u : *users)
    std::fprintf(ctx.out, "%s%s\n", u.address.c_str(), u.disabled ? "\tdisabled" : "");
  return kExitOk;
}

int cmd_user_passwd(Context& ctx, const std::string& arg) {
  AccountsDb db;
  std::string address;
  common::accounts::User have;
  if (int rc = load_named_user(ctx, arg, &db, &address, &have); rc != kExitOk) return rc;
  if (int rc = set_password(ctx, address); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "password changed for %s\n", address.c_str());
  return kExitOk;
}

}  // namespace mailctl
