// Maildir++ quota (https://www.courier-mta.org/imap/README.maildirquota.html): the
// `maildirsize` file in a Maildir's root that the local agent, pop3d, mailctl, Courier
// and Dovecot (quota = maildir) all read and update, so that they agree on usage.
//   line 1: the quota definition, "<bytes>S[,<count>C]" ("0S": no limit)
//   then:   "<bytes> <count>" lines, deltas (negative for removals); usage is their sum.
// Writers append one line with a single O_APPEND write and never create the file; only a
// recalculation (scan of new/ and cur/ of the Maildir and its .Folders, sizes from
// ",S=" in the name, else stat) writes it whole, into tmp/ and renamed over it.
// The file is recalculated when missing, unreadable, over 5120 bytes, when its quota
// definition differs from the configured one, or when it says "over quota" and is older
// than 15 minutes or holds more than one delta line (Dovecot's rules, quota-maildir.c).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::maildir {

inline constexpr const char* kMaildirsize = "maildirsize";
inline constexpr std::size_t kMaxMaildirsize = 5120;  // larger: recalculate
inline constexpr std::int64_t kStaleSeconds = 15 * 60;

struct QuotaDef {
  std::uint64_t bytes = 0;  // 0: no limit
  std::uint64_t count = 0;  // 0: no limit
  bool operator==(const QuotaDef&) const = default;
};

struct Usage {
  std::int64_t bytes = 0;
  std::int64_t count = 0;
};

struct Parsed {
  QuotaDef def;
  Usage usage;
  std::size_t delta_lines = 0;  // lines after the definition
};

// Pure. UNTRUSTED: the file is writable by every program with the Maildir's group.
// Fails on anything that does not follow the format (then the caller recalculates): no
// definition line, a line that is not two integers, a negative total, a NUL byte.
// A last line without LF is ignored (a writer may be appending it right now).
Result<Parsed> parse_maildirsize(std::string_view text);

// "1000S", "1000S,50C", "0S" for no limit (as Dovecot writes it).
std::string format_quota_def(const QuotaDef& def);
// One delta line, e.g. "4711 1\n", "-4711 -1\n".
std::string format_delta(std::int64_t bytes, std::int64_t count);

// The ",S=<size>" field of a Maildir file name (before any ':' flags), if present.
std::optional<std::uint64_t> size_field(std::string_view filename);

// Is `u` over the limits of `def` (strictly more than allowed)?
bool over_quota(const QuotaDef& def, const Usage& u);

// Counts every message in new/ and cur/ of `maildir` and of its Maildir++ folders
// (directories ".Name" in its root), as a recalculation does.
Result<Usage> scan_maildir(const std::string& maildir);

struct ReadOptions {
  bool may_write = true;  // false (mailctl as root): never write, only compute
  std::int64_t now = 0;   // UNIX time, for the staleness rule
};

struct UsageInfo {
  Usage usage;
  bool recalculated = false;  // the Maildir was scanned
};

// The current usage of `maildir` under the quota `def`, by the rules in the file comment.
// A recalculation rewrites maildirsize (unless !may_write); a failed rewrite is not an
// error (the usage is still right), a failed scan is.
Result<UsageInfo> read_usage(const std::string& maildir, const QuotaDef& def, const ReadOptions& opt);

// Appends one delta line with a single write if maildirsize exists (it is never created
// here: a missing file is recalculated by the next reader). Returns true if appended.
Result<bool> append_delta(const std::string& maildir, std::int64_t bytes, std::int64_t count);

// Writes maildirsize whole (definition + one line of totals) through tmp/ and rename(2).
Status write_maildirsize(const std::string& maildir, const QuotaDef& def, const Usage& u);

}  // namespace common::maildir
