// mailctl's subcommands. Each returns an exit code from args.hpp and prints its result
// on ctx.out and its complaints on ctx.err. Bad input changes nothing.
#pragma once

#include <string>
#include <vector>

#include "mailctl/args.hpp"
#include "mailctl/context.hpp"

namespace mailctl {

int cmd_domain_add(Context& ctx, const std::string& domain);
int cmd_domain_del(Context& ctx, const std::string& domain, bool force);
int cmd_domain_list(Context& ctx);

int cmd_user_add(Context& ctx, const std::string& address);
int cmd_user_del(Context& ctx, const std::string& address);
int cmd_user_list(Context& ctx, const std::string& domain);
int cmd_user_passwd(Context& ctx, const std::string& address);
int cmd_user_set(Context& ctx, const std::string& address, const std::vector<std::string>& settings);
int cmd_user_autoreply(Context& ctx, const std::string& address, const AutoreplyArgs& args);
int cmd_user_show(Context& ctx, const std::string& address);

int cmd_domain_alias(Context& ctx, const std::string& alias, const std::string& target);
int cmd_domain_set(Context& ctx, const std::string& domain, const std::vector<std::string>& settings);
int cmd_domain_show(Context& ctx, const std::string& domain);

int cmd_alias_add(Context& ctx, const std::string& address, const std::vector<std::string>& targets);
int cmd_alias_del(Context& ctx, const std::string& address, const std::vector<std::string>& targets);
int cmd_alias_list(Context& ctx, const std::string& domain);

// Relay recipient lists (relay_recipients.cpp). `text` of import: the file, read with
// the administrator's rights before the command runs as the database owner.
int cmd_relay_recipient_add(Context& ctx, const std::vector<std::string>& addresses);
int cmd_relay_recipient_del(Context& ctx, const std::string& arg);
int cmd_relay_recipient_import(Context& ctx, const std::string& domain, const std::string& text);
int cmd_relay_recipient_list(Context& ctx, const std::string& domain);

// ODMR grants (atrn.cpp): which account may pull which domain's mail with ATRN.
int cmd_atrn_grant(Context& ctx, const std::string& login, const std::string& domain);
int cmd_atrn_revoke(Context& ctx, const std::string& login, const std::string& domain);
int cmd_atrn_list(Context& ctx, const std::string& login);

// Filtering rules (rules.cpp): `words` after "rule add" / "rule del".
int cmd_rule_add(Context& ctx, const std::vector<std::string>& words);
int cmd_rule_del(Context& ctx, const std::vector<std::string>& words);
int cmd_rule_list(Context& ctx);

// Helpers shared by the alias and settings commands (aliases.cpp).
// The path from `from` through `targets` back to `from` (empty if none): alias targets,
// forwards of users who keep no copy, domain aliases.
common::Result<std::vector<std::string>> find_loop(common::accounts::Store& db, const std::string& from,
                                                   const std::vector<std::string>& targets);
// Does the local address `key` reach a mailbox (AddressBook::target_exists: user, alias,
// subaddress of either, domain alias, postmaster/abuse default, or - if
// `catchall_counts` - a catch-all)?
common::Result<bool> local_target_exists(common::accounts::Store& db, const std::string& key,
                                         const std::string& delimiter, bool catchall_counts);

// Checks the file at `path`; prints every problem as "file:line: message" on `out`.
int cmd_check_config(const std::string& path, std::FILE* out);

// The whole tool: parses `argv` (without the program name), loads the configuration
// and runs the command. `as_root` is normally geteuid() == 0; tests pass false.
int run(const std::vector<std::string>& argv, bool as_root, std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace mailctl
