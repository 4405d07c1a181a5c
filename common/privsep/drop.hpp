// Privilege drop, the last step before a daemon's event loop. As root: set the
// supplementary groups, gid and uid of the program's identity (users.hpp), clear every
// capability with libcap and set PR_SET_NO_NEW_PRIVS. As any other user: keep the user,
// clear capabilities, set no_new_privs. Then read everything back and abort on any
// mismatch: a daemon that is not exactly who it should be must not run.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::privsep {

struct Ids {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Looks up the ids of a program's identity.
Result<Ids> resolve(std::string_view program);
// gid of a group by name, for chown of sockets and files before the drop.
Result<gid_t> group_id(std::string_view name);
Result<uid_t> user_id(std::string_view name);

// REQUIRES: every socket and file the program needs is already open.
void drop(std::string_view program);

bool running_as_root();

}  // namespace common::privsep
