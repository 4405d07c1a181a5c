// `mailctl domain add|del|list`: the mail domains in accounts.mdb. A domain's users go
// with it (their password hashes first); an alias domain pointing at it blocks the delete.
#include <sysexits.h>
#include <unistd.h>

#include <ctime>

#include "mailctl/accounts_edit.hpp"
#include "mailctl/commands.hpp"

namespace mailctl {

int cmd_domain_add(Context& ctx, const std::string& arg) {
  std::string name = domain_arg(arg);
  if (!common::accounts::valid_domain_name(name)) {
    complain(ctx, "invalid domain name '" + arg + "' (letters, digits, '-' and '.')");
    return kExitRefused;
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto have = db->domain(name);
  if (int rc = check_io(ctx, have.status()); rc != kExitOk) return rc;
  if (*have) {
    complain(ctx, "domain " + name + " already exists");
    return kExitRefused;
  }
  common::accounts::Domain d;
  d.name = name;
  d.created = std::time(nullptr);
  if (int rc = check_io(ctx, db->put_domain(d)); rc != kExitOk) return rc;
  if (name == lower(arg))
    std::fprintf(ctx.out, "added domain %s\n", name.c_str());
  else  // an internationalised name: stored (and matched) as A-labels
    std::fprintf(ctx.out, "added domain %s (%s)\n", name.c_str(), arg.c_str());
  // postmaster@ and abuse@ exist in every domain (local(8)): say where they go.
  std::string host = lower(ctx.cfg.hostname);
  if (host.empty()) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) == 0) host = lower(buf);
  }
  if (!ctx.cfg.postmaster_address.empty()) {
    std::fprintf(ctx.out, "postmaster@%s and abuse@%s go to %s (postmaster_address)\n", name.c_str(),
                 name.c_str(), ctx.cfg.postmaster_address.c_str());
  } else if (auto h = db->domain(host); h && *h && host != name) {
    std::fprintf(ctx.out, "postmaster@%s and abuse@%s go to postmaster@%s\n", name.c_str(), name.c_str(),
                 host.c_str());
  } else {
    std::fprintf(ctx.out,
                 "note: add a user or alias postmaster@%s (or set postmaster_address): until then mail to "
                 "postmaster@%s and abuse@%s is refused\n",
                 name.c_str(), name.c_str(), name.c_str());
  }
  return kExitOk;
}

int cmd_domain_del(Context& ctx, const std::string& arg, bool force) {
  std::string name = domain_arg(arg);
  AccountsDb db;
  common::accounts::Domain have;
  if (int rc = load_domain(ctx, name, arg, &db, &have); rc != kExitOk) return rc;
  auto users = db->users(name);
  auto aliases = db->aliases(name);
  auto all = db->domains();
  if (!users || !aliases || !all) {
    complain(ctx, !users ? users.message() : !aliases ? aliases.message() : all.message());
    return EX_IOERR;
  }
  for (const auto& o : *all)
    if (o.alias_of == name) {
      complain(ctx, "domain " + o.name + " is an alias of " + name + "; delete it first");
      return kExitRefused;
    }
  if ((!users->empty() || !aliases->empty()) && !force) {
    complain(ctx, "domain " + name + " still has " + std::to_string(users->size()) + " user(s) and " +
                      std::to_string(aliases->size()) + " alias(es); remove them first or use --force");
    return kExitRefused;
  }
  if (!users->empty()) {
    PasswordsDb pw;
    if (int rc = open_passwords_db(ctx, &pw); rc != kExitOk) return rc;
    for (const auto& u : *users)
      if (int rc = check_io(ctx, pw->remove(u.address).status()); rc != kExitOk) return rc;
  }
  if (int rc = check_io(ctx, db->delete_domain(name).status()); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "deleted domain %s", name.c_str());
  if (!users->empty() || !aliases->empty())
    std::fprintf(ctx.out, " with %zu user(s) and %zu alias(es); Maildirs kept under %s/%s", users->size(),
                 aliases->size(), ctx.cfg.mail_directory.c_str(), name.c_str());
  std::fprintf(ctx.out, "\n");
  return kExitOk;
}

int cmd_domain_list(Context& ctx) {
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto all = db->domains();
  if (int rc = check_io(ctx, all.status()); rc != kExitOk) return rc;
  for (const auto& d : *all) {
    if (d.alias_of.empty())
      std::fprintf(ctx.out, "%s\n", d.name.c_str());
    else
      std::fprintf(ctx.out, "%s\talias of %s\n", d.name.c_str(), d.alias_of.c_str());
  }
  return kExitOk;
}

}  // namespace mailctl
