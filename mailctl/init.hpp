// `mailctl init`: the whole Mailbag tree with exact owners and modes (see
// mailbag-queue(5) and mailctl(8)), idempotent. As root it first creates the system
// groups and users; as anyone else it builds the same tree owned by the caller.
#pragma once

#include <string>
#include <vector>

#include "common/spool/layout.hpp"
#include "mailctl/context.hpp"
#include "mailctl/fs.hpp"

namespace mailctl {

// The directories, in creation order (pure, for tests).
std::vector<Spec> directory_plan(const common::spool::Layout& l);

// The databases: data file and lock file specs.
enum class DbKind { kAccounts, kPasswd, kRelay };
struct DbSpec {
  DbKind kind;
  Spec data;
  Spec lock;  // data path + "-lock"
};
std::vector<DbSpec> database_plan(const common::spool::Layout& l);

int cmd_init(Context& ctx);

}  // namespace mailctl
