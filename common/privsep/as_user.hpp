// Doing something as the user who owns it, for the administrator's tools run by root
// (mailctl, relayctl). Root must not open a file an unprivileged user can write or
// swap (a database the daemons share, a path inside the group-writable mail tree): a
// malicious lock file or a planted symlink would then act with root's power. Instead the
// work runs with exactly the owner's credentials, for good, so nothing it reads can
// give root back.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::privsep {

struct Owner {
  std::string_view user;                      // the uid
  std::string_view group;                     // the gid (primary, and the group new files get)
  std::vector<std::string_view> groups = {};  // supplementary, besides `group`
};

// As root: setgroups, setresgid and setresuid to `who` in this process, permanently
// (saved ids too), then checks that root cannot be regained. As anyone else: nothing
// (tests and unprivileged administrators run with their own rights).
Status become(const Owner& who);

// As root: runs `fn` in a child process that became `who` (become()), and returns its
// Status (message and err() carried back through a pipe). As anyone else: calls fn here.
// Output the child writes to stdio is flushed before it exits.
Status run_as(const Owner& who, const std::function<Status()>& fn);

}  // namespace common::privsep
