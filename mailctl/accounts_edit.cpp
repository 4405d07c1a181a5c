// Implementation of the shared account-command steps (see accounts_edit.hpp).
#include "mailctl/accounts_edit.hpp"

#include <sysexits.h>

#include <optional>
#include <utility>

#include "mailctl/commands.hpp"
#include "mailctl/values.hpp"

namespace mailctl {
namespace {

using common::accounts::Store;

template <class T>
int open_db(Context& ctx, common::Result<std::unique_ptr<T>> opened, std::unique_ptr<T>* db) {
  if (int rc = check_io(ctx, opened.status()); rc != kExitOk) return rc;
  *db = std::move(*opened);
  return kExitOk;
}

// A lookup's record, or the complaint: its read error, or `missing` if there is none.
template <class T>
int found(Context& ctx, common::Result<std::optional<T>> lookup, const std::string& missing, T* out) {
  if (int rc = check_io(ctx, lookup.status()); rc != kExitOk) return rc;
  if (!*lookup) {
    complain(ctx, missing);
    return kExitRefused;
  }
  *out = std::move(**lookup);
  return kExitOk;
}

}  // namespace

int open_accounts_db(Context& ctx, AccountsDb* db) { return open_db(ctx, open_accounts(ctx), db); }

int open_passwords_db(Context& ctx, PasswordsDb* db) { return open_db(ctx, open_passwords(ctx), db); }

int check_io(Context& ctx, const common::Status& st) {
  if (st) return kExitOk;
  complain(ctx, st.message());
  return EX_IOERR;
}

int load_user(Context& ctx, const std::string& address, const std::string& shown, AccountsDb* db,
              common::accounts::User* out) {
  if (int rc = open_accounts_db(ctx, db); rc != kExitOk) return rc;
  return found(ctx, (*db)->user(address), "no such user: " + shown, out);
}

int load_domain(Context& ctx, const std::string& name, const std::string& shown, AccountsDb* db,
                common::accounts::Domain* out) {
  if (int rc = open_accounts_db(ctx, db); rc != kExitOk) return rc;
  return found(ctx, (*db)->domain(name), "no such domain: " + shown, out);
}

int load_alias(Context& ctx, const std::string& address, const std::string& shown, AccountsDb* db,
               common::accounts::Alias* out) {
  if (int rc = open_accounts_db(ctx, db); rc != kExitOk) return rc;
  return found(ctx, (*db)->alias(address), "no such alias: " + shown, out);
}

int check_domain_filter(Context& ctx, Store& db, const std::string& domain, const std::string& shown) {
  if (domain.empty()) return kExitOk;
  common::accounts::Domain unused;
  return found(ctx, db.domain(domain), "no such domain: " + shown, &unused);
}

int refuse_loop(Context& ctx, Store& db, const std::string& from, const std::vector<std::string>& targets,
                const std::string& advice) {
  auto loop = find_loop(db, from, targets);
  if (int rc = check_io(ctx, loop.status()); rc != kExitOk) return rc;
  if (loop->empty()) return kExitOk;
  complain(ctx, "refused: that would make a mail loop (" + join_list(*loop, " -> ") + ")" + advice);
  return kExitRefused;
}

}  // namespace mailctl
