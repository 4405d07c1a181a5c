// Opening the small bookkeeping files that live in a Maildir (maildirsize, the vacation
// record). Every member of the Maildir's group can replace them, so a name there may be a
// symlink, a FIFO (whose open(2) blocks until a writer comes) or a device. These helpers
// never follow a symlink, never block on open, and accept only regular files; anything
// else fails with a message naming the file and what it is, errno-style code EINVAL.
#pragma once

#include <cstddef>
#include <string>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace common::maildir {

// open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), then fstat: a regular file or
// an error. ENOENT passes through in err() so callers can tell "absent" from "bad".
Result<io::UniqueFd> open_regular(const std::string& path, int flags);
// The whole file (at most `max` bytes, more is an error) through open_regular.
Result<std::string> read_regular(const std::string& path, std::size_t max);

}  // namespace common::maildir
