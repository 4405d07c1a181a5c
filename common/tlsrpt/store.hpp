// The TLS session records on disk: spool/tlsrpt/YYYY-MM-DD (UTC), one line per session
// (record.hpp), appended by the remote agent and taken whole by `mailctl tlsrpt send`.
// Safe across crashes and concurrent writers without a database:
//   - a writer appends a whole line with one write(2) on an O_APPEND descriptor, so lines
//     of concurrent writers never interleave; a crash can leave at most a torn last line,
//     which the reader skips (record.hpp);
//   - a writer holds a shared flock(2) while it writes, and checks that the file it
//     locked is still the one under the day's name (else it opens again);
//   - the sender claims a day by renaming the file to YYYY-MM-DD.<unique>.sending, then
//     takes the exclusive lock, which waits out a writer still busy with the old name:
//     after that no line can be added to the claimed file. A claimed file that outlives
//     a crash of the sender is taken up by the next run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::tlsrpt {

// Appends `lines` (whole lines, "\n" each) to the file of `day` in `dir`.
Status append_lines(const std::string& dir, const std::string& day, std::string_view lines);

struct Claimed {
  std::string day;   // YYYY-MM-DD
  std::string path;  // the claimed file
  std::string text;  // its content
};
// Claims every day file before `today` (and `today` too when `include_today`), and
// takes up claimed files left over from an earlier run; reads each. Files whose name
// is not a day are left alone.
Result<std::vector<Claimed>> claim_days(const std::string& dir, const std::string& today, bool include_today);

}  // namespace common::tlsrpt
