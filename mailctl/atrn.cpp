// `mailctl atrn grant|revoke|list`: the ODMR grants (RFC 2645) of the accounts database
// (common/accounts/atrn_grants.cpp, or the atrn_grants table on PostgreSQL). A site that
// connects to the provider's odmr_listen port, authenticates as LOGIN over TLS and sends
// `ATRN DOMAIN` gets DOMAIN's queued mail over that connection only if LOGIN was granted
// DOMAIN here; smtpd reads the grants at each ATRN, so a change needs no restart.
#include "mailctl/accounts_edit.hpp"
#include "mailctl/commands.hpp"

namespace mailctl {
namespace {

// The account and the domain as stored, or a complaint. The account must exist: a grant
// to a login that cannot authenticate is a typo.
int grant_args(Context& ctx, common::accounts::Store& db, const std::string& login, const std::string& domain,
               common::accounts::AtrnGrant* g) {
  g->login = address_arg(login);
  g->domain = domain_arg(domain);
  if (!common::accounts::valid_domain_name(g->domain)) {
    complain(ctx, "invalid domain name '" + domain + "'");
    return kExitRefused;
  }
  auto user = db.user(g->login);
  if (int rc = check_io(ctx, user.status()); rc != kExitOk) return rc;
  if (!*user) {
    complain(ctx, "no such user: " + g->login + " (ATRN needs an account that can log in)");
    return kExitRefused;
  }
  return kExitOk;
}

}  // namespace

int cmd_atrn_grant(Context& ctx, const std::string& login, const std::string& domain) {
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  common::accounts::AtrnGrant g;
  if (int rc = grant_args(ctx, *db, login, domain, &g); rc != kExitOk) return rc;
  auto local = db->domain(g.domain);
  if (int rc = check_io(ctx, local.status()); rc != kExitOk) return rc;
  if (*local) {
    complain(ctx, g.domain + " is a local domain: its mail is delivered here, never queued for ATRN");
    return kExitRefused;
  }
  if (int rc = check_io(ctx, db->put_atrn_grant(g)); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "%s may now pull the mail for %s with ATRN\n", g.login.c_str(), g.domain.c_str());
  bool relayed = false;
  for (const auto& d : ctx.cfg.relay_domains) relayed = relayed || domain_arg(d) == g.domain;
  if (!relayed)
    std::fprintf(ctx.err,
                 "mailctl: note: %s is not in relay_domains; mail for it is only queued here if it is\n",
                 g.domain.c_str());
  if (ctx.cfg.odmr_listen.empty())
    std::fprintf(ctx.err,
                 "mailctl: note: odmr_listen is empty: no ODMR port is open (see mailbag.conf(5))\n");
  return kExitOk;
}

int cmd_atrn_revoke(Context& ctx, const std::string& login, const std::string& domain) {
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  common::accounts::AtrnGrant g;
  g.login = address_arg(login);
  g.domain = domain_arg(domain);
  auto gone = db->delete_atrn_grant(g);
  if (int rc = check_io(ctx, gone.status()); rc != kExitOk) return rc;
  if (!*gone) {
    complain(ctx, "no ODMR grant of " + g.domain + " to " + g.login);
    return kExitRefused;
  }
  std::fprintf(ctx.out, "%s may no longer pull the mail for %s\n", g.login.c_str(), g.domain.c_str());
  return kExitOk;
}

int cmd_atrn_list(Context& ctx, const std::string& login) {
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto all = db->atrn_grants(login.empty() ? "" : address_arg(login));
  if (int rc = check_io(ctx, all.status()); rc != kExitOk) return rc;
  for (const auto& g : *all) std::fprintf(ctx.out, "%s %s\n", g.login.c_str(), g.domain.c_str());
  return kExitOk;
}

}  // namespace mailctl
