// The system groups and users of Mailbag (common/privsep/users.hpp), created by
// `mailctl init` as root with groupadd/useradd/usermod. The commands run through
// posix_spawn with an argv vector and a fixed minimal environment, never a shell.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/privsep/users.hpp"
#include "common/result.hpp"

namespace mailctl {

// Every group init needs: the shared ones, then each identity's own primary group.
std::vector<std::string> required_groups();

// The argument vectors (pure, for tests).
std::vector<std::string> groupadd_argv(const std::string& group);
std::vector<std::string> useradd_argv(const common::privsep::Identity& id);
std::vector<std::string> usermod_add_groups_argv(const std::string& user,
                                                 const std::vector<std::string>& groups);

// Runs argv[0] (an absolute path) with `argv` and the environment
// PATH=/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C; fails unless it exits 0.
common::Status run_program(const std::vector<std::string>& argv);

// Creates missing groups and users, and adds missing supplementary groups to existing
// users. REQUIRES: root. Appends one line per change to *report.
common::Status ensure_system_accounts(std::vector<std::string>* report);

}  // namespace mailctl
