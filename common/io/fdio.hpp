// Small blocking and non-blocking fd helpers shared by the daemons and tools: complete
// reads and writes, fd flags, directory fsync. Every failure returns a Status naming
// what was being done.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace common::io {

Status write_all(int fd, std::string_view data);
Status pwrite_all(int fd, std::string_view data, off_t offset);
// Reads exactly `len` bytes at `offset` (fewer only at end of file: check out->size()).
Status pread_upto(int fd, std::string* out, std::size_t len, off_t offset);
// Reads a whole (small) file; refuses files larger than `max` bytes.
Result<std::string> read_file(const std::string& path, std::size_t max = 16 << 20);
Status set_nonblocking(int fd);
Status set_cloexec(int fd);
// fsync(2) of a directory by path, so an entry created, renamed or removed in it is durable.
Status fsync_dir(const std::string& path);
Status fsync_fd(int fd, const char* what);
// mkdir -p with a mode for each created component.
Status make_dirs(const std::string& path, mode_t mode);
Result<UniqueFd> open_dir(const std::string& path);

}  // namespace common::io
