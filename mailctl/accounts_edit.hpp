// The steps the account commands (domains, users, aliases, settings, show) share around
// accounts.mdb and passwd.mdb: open them, load the record a command names, check a read
// or a write. Each step complains on ctx.err in the commands' words and returns the exit
// code (kExitOk to go on), so a command reads as its checks, one line each:
//   if (int rc = load_user(ctx, address, arg, &db, &u); rc != kExitOk) return rc;
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mailctl/context.hpp"

namespace mailctl {

using AccountsDb = std::unique_ptr<common::accounts::Store>;
using PasswordsDb = std::unique_ptr<common::accounts::PasswordStore>;

// open_accounts() and open_passwords(), complaining (EX_IOERR) when they fail.
int open_accounts_db(Context& ctx, AccountsDb* db);
int open_passwords_db(Context& ctx, PasswordsDb* db);

// kExitOk if a database read or write succeeded; otherwise complains with its message
// and returns EX_IOERR.
int check_io(Context& ctx, const common::Status& st);

// Opens accounts.mdb into `*db` and loads a record that must exist into `*out`: "no such
// user: <shown>" (kExitRefused) if it does not, EX_IOERR if it cannot be read.
// `shown` is the name as the command echoes it (what was typed, or its canonical form).
int load_user(Context& ctx, const std::string& address, const std::string& shown, AccountsDb* db,
              common::accounts::User* out);
int load_domain(Context& ctx, const std::string& name, const std::string& shown, AccountsDb* db,
                common::accounts::Domain* out);
int load_alias(Context& ctx, const std::string& address, const std::string& shown, AccountsDb* db,
               common::accounts::Alias* out);

// The optional DOMAIN of `user list` and `alias list`: "" (every domain) or one that
// exists ("no such domain: <shown>").
int check_domain_filter(Context& ctx, common::accounts::Store& db, const std::string& domain,
                        const std::string& shown);

// Refuses (kExitRefused) targets that lead back to `from`, saying
// "refused: that would make a mail loop (from -> ... -> from)" followed by `advice`.
int refuse_loop(Context& ctx, common::accounts::Store& db, const std::string& from,
                const std::vector<std::string>& targets, const std::string& advice);

}  // namespace mailctl
