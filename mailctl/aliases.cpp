// `mailctl alias add|del|list` and `mailctl domain alias`: alias records (a local part
// -> local or remote addresses) and domain aliases (every local part of one domain ->
// the same in another) in accounts.mdb. Targets are checked before anything is written:
// valid addresses, local ones that exist, and no loop back to the alias.
#include <sysexits.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "common/accounts/address_book.hpp"
#include "common/mail/address.hpp"
#include "mailctl/accounts_edit.hpp"
#include "mailctl/commands.hpp"
#include "mailctl/values.hpp"

namespace mailctl {
namespace {

using common::accounts::Store;

// Where an address leads in one step (the address book's answer), with `extra` standing
// in for a record not yet written.
common::Result<std::vector<std::string>> next_hops(Store& db, const std::string& key,
                                                   const std::string& extra_key,
                                                   const std::vector<std::string>& extra) {
  if (key == extra_key) return extra;
  return common::accounts::AddressBook(db, {}).next_hops(key);
}

}  // namespace

common::Result<std::vector<std::string>> find_loop(Store& db, const std::string& from,
                                                   const std::vector<std::string>& targets) {
  // Depth-first search from the new targets back to `from`; the path, if any.
  std::vector<std::vector<std::string>> stack;
  std::set<std::string> seen;
  for (const auto& t : targets) stack.push_back({from, lower(t)});
  while (!stack.empty()) {
    auto path = std::move(stack.back());
    stack.pop_back();
    const std::string& at = path.back();
    if (at == from) return path;
    if (!seen.insert(at).second || seen.size() > 10000) continue;
    auto next = next_hops(db, at, from, targets);
    if (!next) return next.status();
    for (const auto& n : *next) {
      auto p = path;
      p.push_back(n);
      stack.push_back(std::move(p));
    }
  }
  return std::vector<std::string>();
}

common::Result<bool> local_target_exists(Store& db, const std::string& key, const std::string& delimiter,
                                         bool catchall_counts) {
  common::accounts::Rules rules;
  rules.recipient_delimiter = delimiter;
  return common::accounts::AddressBook(db, std::move(rules)).target_exists(key, catchall_counts);
}

int cmd_alias_add(Context& ctx, const std::string& arg, const std::vector<std::string>& targets) {
  auto parts = common::accounts::split_user_address(address_arg(arg));
  if (!parts) {
    complain(ctx, parts.message());
    return kExitRefused;
  }
  std::string address = parts->first + "@" + parts->second;
  std::vector<std::string> want;
  for (const auto& t : targets) {
    auto list = parse_address_list(t);
    if (!list) {
      complain(ctx, list.message());
      return kExitRefused;
    }
    for (auto& a : *list)
      if (std::find(want.begin(), want.end(), a) == want.end()) want.push_back(a);
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto dom = db->domain(parts->second);
  auto user = db->user(address);
  auto have = db->alias(address);
  if (!dom || !user || !have) {
    complain(ctx, !dom ? dom.message() : !user ? user.message() : have.message());
    return EX_IOERR;
  }
  if (!*dom) {
    complain(ctx, "no such domain: " + parts->second);
    return kExitRefused;
  }
  if (*user) {
    complain(ctx,
             address + " is a user; to redirect its mail use 'mailctl user set " + address + " forward=...'");
    return kExitRefused;
  }
  common::accounts::Alias al;
  if (*have) al = **have;
  al.address = address;
  std::vector<std::string> added;
  for (const auto& t : want) {
    std::string key = lower(t);
    if (key == address) {
      complain(ctx, "an alias cannot point at itself: " + address);
      return kExitRefused;
    }
    auto d = db->domain(key.substr(key.rfind('@') + 1));
    if (int rc = check_io(ctx, d.status()); rc != kExitOk) return rc;
    if (*d) {
      auto ok = local_target_exists(*db, key, ctx.cfg.recipient_delimiter, true);
      if (int rc = check_io(ctx, ok.status()); rc != kExitOk) return rc;
      if (!*ok) {
        complain(ctx, "target " + t + " does not exist (add the user or alias first)");
        return kExitRefused;
      }
    }
    bool dup = false;
    for (const auto& x : al.targets) dup = dup || lower(x) == key;
    if (!dup) {
      al.targets.push_back(t);
      added.push_back(t);
    }
  }
  if (added.empty()) {
    std::fprintf(ctx.out, "alias %s already has those targets\n", address.c_str());
    return kExitOk;
  }
  if (int rc = refuse_loop(ctx, *db, address, al.targets, ""); rc != kExitOk) return rc;
  if (int rc = check_io(ctx, db->put_alias(al)); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "%s alias %s -> %s\n", *have ? "updated" : "added", address.c_str(),
               join_list(al.targets, ", ").c_str());
  return kExitOk;
}

int cmd_alias_del(Context& ctx, const std::string& arg, const std::vector<std::string>& targets) {
  std::string address = address_arg(arg);
  AccountsDb db;
  common::accounts::Alias al;
  if (int rc = load_alias(ctx, address, arg, &db, &al); rc != kExitOk) return rc;
  if (targets.empty()) {
    if (int rc = check_io(ctx, db->delete_alias(address).status()); rc != kExitOk) return rc;
    std::fprintf(ctx.out, "deleted alias %s\n", address.c_str());
    return kExitOk;
  }
  for (const auto& t : targets) {
    auto it = std::find_if(al.targets.begin(), al.targets.end(),
                           [&](const std::string& x) { return lower(x) == lower(t); });
    if (it == al.targets.end()) {
      complain(ctx, "alias " + address + " has no target " + t);
      return kExitRefused;
    }
    al.targets.erase(it);
  }
  common::Status st = al.targets.empty() ? db->delete_alias(address).status() : db->put_alias(al);
  if (int rc = check_io(ctx, st); rc != kExitOk) return rc;
  if (al.targets.empty())
    std::fprintf(ctx.out, "deleted alias %s (no targets left)\n", address.c_str());
  else
    std::fprintf(ctx.out, "removed %zu target(s) from alias %s\n", targets.size(), address.c_str());
  return kExitOk;
}

int cmd_alias_list(Context& ctx, const std::string& arg) {
  std::string domain = domain_arg(arg);
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  if (int rc = check_domain_filter(ctx, *db, domain, arg); rc != kExitOk) return rc;
  auto all = db->aliases(domain);
  if (int rc = check_io(ctx, all.status()); rc != kExitOk) return rc;
  for (const auto& a : *all)
    std::fprintf(ctx.out, "%s -> %s\n", a.address.c_str(), join_list(a.targets, ", ").c_str());
  return kExitOk;
}

int cmd_domain_alias(Context& ctx, const std::string& alias_arg, const std::string& target_arg) {
  std::string name = domain_arg(alias_arg), target = domain_arg(target_arg);
  for (const auto& d : {name, target})
    if (!common::accounts::valid_domain_name(d)) {
      complain(ctx, "invalid domain name '" + d + "' (letters, digits, '-' and '.')");
      return kExitRefused;
    }
  if (name == target) {
    complain(ctx, "a domain cannot be an alias of itself");
    return kExitRefused;
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto t = db->domain(target);
  auto have = db->domain(name);
  if (!t || !have) {
    complain(ctx, !t ? t.message() : have.message());
    return EX_IOERR;
  }
  if (!*t) {
    complain(ctx, "no such domain: " + target + " (add it first)");
    return kExitRefused;
  }
  if (!(*t)->alias_of.empty()) {
    complain(ctx, target + " is itself an alias of " + (*t)->alias_of + "; point " + name + " there instead");
    return kExitRefused;
  }
  common::accounts::Domain d;
  if (*have) {
    auto users = db->users(name);
    if (int rc = check_io(ctx, users.status()); rc != kExitOk) return rc;
    if (!users->empty()) {
      complain(ctx, "domain " + name + " has " + std::to_string(users->size()) +
                        " user(s); an alias domain has none (move or delete them first)");
      return kExitRefused;
    }
    auto all = db->domains();
    if (int rc = check_io(ctx, all.status()); rc != kExitOk) return rc;
    for (const auto& o : *all)
      if (o.alias_of == name) {
        complain(ctx, o.name + " is an alias of " + name + "; an alias domain cannot have aliases itself");
        return kExitRefused;
      }
    d = **have;
  } else {
    d.name = name;
    d.created = std::time(nullptr);
  }
  d.alias_of = target;
  if (int rc = check_io(ctx, db->put_domain(d)); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "%s domain %s: an alias of %s (mail for any@%s goes to any@%s)\n",
               *have ? "changed" : "added", name.c_str(), target.c_str(), name.c_str(), target.c_str());
  return kExitOk;
}

}  // namespace mailctl
