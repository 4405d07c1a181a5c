// Directories and files with exact modes and owners, for `init` and `user add`. Each
// call creates what is missing and corrects what differs, never follows a symlink,
// and reports each change as one line for the administrator.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace mailctl {

struct Spec {
  std::string path;
  mode_t mode = 0;   // permission bits including setgid and sticky
  std::string user;  // owner, applied only when running as root
  std::string group;
};

// Creates the directory (its parent must exist) or checks the existing one, then sets
// the owner (as root) and the mode. Appends one line per change to *report.
common::Status ensure_dir(const Spec& s, bool as_root, std::vector<std::string>* report);
// Sets the owner (as root) and mode of an existing regular file.
common::Status ensure_file(const Spec& s, bool as_root, std::vector<std::string>* report);

// The directory `name` inside the directory `parent` (an fd; `shown` is its path for
// messages): created with mkdirat if missing, opened with openat(O_NOFOLLOW), so neither
// it nor anything above it is ever reached through a symlink, and given `mode` if we own
// it (one line per change in *report; a directory someone else owns is reported, not
// changed). `name` must be a single path component. For trees that less trusted users
// can write (the mail tree): run it as the tree's owner (common/privsep/as_user.hpp).
common::Result<common::io::UniqueFd> ensure_dir_at(int parent, const std::string& name,
                                                   const std::string& shown, mode_t mode,
                                                   std::vector<std::string>* report);

// Warns (into *report) about ancestors of `path` that other users cannot search, which
// would keep the unprivileged daemons out even with correct modes below.
void check_search_path(const std::string& path, std::vector<std::string>* report);

std::string mode_text(mode_t m);  // "0750", "3730"

}  // namespace mailctl
