// `mailctl relay-recipient add|del|import|list`: for a domain we are backup MX of
// (relay_domains), the addresses its primary accepts (accounts.mdb, relay_recipients.cpp
// in common/accounts). With a list, smtpd refuses other local parts at RCPT with 550 5.1.1
// instead of queueing mail that the primary would bounce; without one, any is accepted.
#include <algorithm>
#include <map>

#include "mailctl/accounts_edit.hpp"
#include "mailctl/commands.hpp"
#include "mailctl/relay_list.hpp"

namespace mailctl {
namespace {

std::string domain_of(const std::string& key) { return key.substr(key.rfind('@') + 1); }

// A list only has an effect for a domain in relay_domains: say so, but keep it (the
// configuration may be changed next).
void note_relay_domain(Context& ctx, const std::string& domain) {
  for (const auto& d : ctx.cfg.relay_domains)
    if (domain_arg(d) == domain) return;
  std::fprintf(ctx.err, "mailctl: note: %s is not in relay_domains; its list takes effect once it is\n",
               domain.c_str());
}

}  // namespace

int cmd_relay_recipient_add(Context& ctx, const std::vector<std::string>& args) {
  std::map<std::string, std::vector<std::string>> by_domain;
  for (const auto& a : args) {
    auto k = relay_recipient_key(a, "");
    if (!k) {
      complain(ctx, k.message());
      return kExitRefused;
    }
    by_domain[domain_of(*k)].push_back(*k);
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  for (const auto& [domain, keys] : by_domain) {
    auto local = db->domain(domain);
    if (int rc = check_io(ctx, local.status()); rc != kExitOk) return rc;
    if (*local) {
      complain(ctx, domain + " is a local domain: its users and aliases are its recipients");
      return kExitRefused;
    }
  }
  for (const auto& [domain, keys] : by_domain) {
    if (int rc = check_io(ctx, db->put_relay_recipients(domain, keys, false)); rc != kExitOk) return rc;
    for (const auto& k : keys) std::fprintf(ctx.out, "added relay recipient %s\n", k.c_str());
    note_relay_domain(ctx, domain);
  }
  return kExitOk;
}

int cmd_relay_recipient_del(Context& ctx, const std::string& arg) {
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  if (arg.find('@') == std::string::npos) {
    std::string domain = domain_arg(arg);
    auto gone = db->delete_relay_list(domain);
    if (int rc = check_io(ctx, gone.status()); rc != kExitOk) return rc;
    if (!*gone) {
      complain(ctx, "no relay recipient list for " + domain);
      return kExitRefused;
    }
    std::fprintf(ctx.out, "removed the relay recipient list of %s: any local part is accepted again\n",
                 domain.c_str());
    return kExitOk;
  }
  auto k = relay_recipient_key(arg, "");
  if (!k) {
    complain(ctx, k.message());
    return kExitRefused;
  }
  auto gone = db->delete_relay_recipient(*k);
  if (int rc = check_io(ctx, gone.status()); rc != kExitOk) return rc;
  if (!*gone) {
    complain(ctx, "no such relay recipient: " + *k);
    return kExitRefused;
  }
  std::fprintf(ctx.out, "removed relay recipient %s\n", k->c_str());
  return kExitOk;
}

int cmd_relay_recipient_import(Context& ctx, const std::string& arg, const std::string& text) {
  std::string domain = domain_arg(arg);
  if (!common::accounts::valid_domain_name(domain)) {
    complain(ctx, "invalid domain name '" + arg + "'");
    return kExitRefused;
  }
  auto keys = parse_relay_list(text, domain);
  if (!keys) {
    complain(ctx, "import: " + keys.message() + " (nothing changed)");
    return kExitRefused;
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto local = db->domain(domain);
  if (int rc = check_io(ctx, local.status()); rc != kExitOk) return rc;
  if (*local) {
    complain(ctx, domain + " is a local domain: its users and aliases are its recipients");
    return kExitRefused;
  }
  if (int rc = check_io(ctx, db->put_relay_recipients(domain, *keys, true)); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "relay recipient list of %s: %zu address(es)\n", domain.c_str(), keys->size());
  note_relay_domain(ctx, domain);
  return kExitOk;
}

int cmd_relay_recipient_list(Context& ctx, const std::string& arg) {
  std::string domain = arg.empty() ? "" : domain_arg(arg);
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto keys = db->relay_recipients(domain);
  if (int rc = check_io(ctx, keys.status()); rc != kExitOk) return rc;
  // "@domain" marks a list; a domain whose list is only that refuses every recipient.
  std::map<std::string, std::size_t> counts;
  for (const auto& k : *keys)
    if (k.front() == '@') counts[k.substr(1)] += 0;
  for (const auto& k : *keys)
    if (k.front() != '@') {
      ++counts[domain_of(k)];
      std::fprintf(ctx.out, "%s\n", k.c_str());
    }
  for (const auto& [d, n] : counts)
    if (n == 0) std::fprintf(ctx.out, "@%s (empty list: every recipient refused)\n", d.c_str());
  if (!domain.empty() && counts.empty()) {
    complain(ctx, "no relay recipient list for " + domain + " (any local part is accepted)");
    return kExitRefused;
  }
  return kExitOk;
}

}  // namespace mailctl
