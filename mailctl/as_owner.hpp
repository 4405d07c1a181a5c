// mailctl run by root never opens accounts.mdb or passwd.mdb itself: the daemons can
// write their lock files, and LMDB trusts whoever writes those. A command that touches
// the databases runs in a child with their owner's credentials (kDbOwner, groups mb-acct
// and mb-authd), for good. The few things such a command must do in the mail tree
// (make a Maildir, clear a "mailbox full" flag, reset a vacation record, count a
// Maildir's usage) go back over a socket to the parent, still root, which does exactly
// that in another child as the Maildirs' owner (mb-vmail) and answers; it acts on
// nothing else the database child says.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "mailctl/context.hpp"

namespace mailctl {

// Owns accounts.mdb and passwd.mdb (group mb-acct lets the daemons read the first, group
// mb-authd only the authentication daemon the second).
inline constexpr std::string_view kDbOwner = "mb-admin";

// As root: runs `command` in the database owner's child and returns its exit code. As
// anyone else (tests, an unprivileged administrator): runs it here.
int run_as_db_owner(Context& ctx, const std::function<int()>& command);

// The mail-tree work, as the Maildirs' owner (mb-vmail:mb-mail) when root, through the
// parent when inside run_as_db_owner's child, directly otherwise. `maildir` is the
// user's Maildir relative to mail_directory ("domain/local").
// <mail_directory>/<domain>/<local>/{cur,new,tmp}, mode 0770, never through a symlink.
common::Status make_maildir(Context& ctx, const std::string& domain, const std::string& local);
common::Status clear_full_flag(Context& ctx, const std::string& address);
// Removes the vacation record, so every sender gets a new auto-reply once again.
common::Status reset_vacation(Context& ctx, const std::string& maildir);
// Prints `user show`'s "usage" line for the Maildir under `quota` bytes (0: none).
common::Status print_usage(Context& ctx, const std::string& maildir, std::int64_t quota);

}  // namespace mailctl
