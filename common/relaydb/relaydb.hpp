// The POP-before-SMTP relay database (data_directory/relay.mdb, LMDB): client address ->
// UNIX time of its last successful POP3 login. pop3d stamps it, smtpd reads it to decide
// whether a client may relay (relay_allowed), relayctl and cron edit and expire it.
// LMDB gives one writer at a time and consistent snapshots to readers, so the three can
// run at the same moment. Keys are normalised address text ("192.0.2.1", "2001:db8::1";
// an IPv4-mapped IPv6 address is stored as its IPv4 form), values ASCII decimal seconds,
// as in vsmtprelay's relayers.db, so `mdb_dump -p` output stays readable.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/lmdb/lmdb.hpp"
#include "common/result.hpp"

namespace common::relaydb {

// The canonical text of an IPv4 or IPv6 address: inet_ntop form of the parsed address,
// IPv4-mapped IPv6 (::ffff:a.b.c.d) as a.b.c.d. Accepts "[v6]" brackets. Rejects
// anything else (host names, zone ids, prefixes, leading zeros in IPv4 octets).
Result<std::string> normalize(std::string_view text);
// The canonical text of a peer's socket address (AF_INET or AF_INET6); "" for others.
std::string from_sockaddr(const sockaddr* sa);

// A relay time stamp from text: decimal UNIX seconds, 0 <= t <= kMaxTicks.
inline constexpr std::int64_t kMaxTicks = 253402300799;  // 9999-12-31T23:59:59Z
Result<std::int64_t> parse_ticks(std::string_view text);
// Minutes argument (relayctl expire/list n): decimal, 0 <= n <= kMaxTicks / 60.
Result<std::int64_t> parse_minutes(std::string_view text);

// RFC-free policy, the one rule both smtpd and relayctl use: an entry grants relaying
// while it is younger than `lifetime` seconds (now - stamp < lifetime); an entry
// stamped in the future grants it until then and beyond, for `lifetime` more.
bool relay_allowed(std::optional<std::int64_t> stamp, std::int64_t now, std::int64_t lifetime);
// "Older than n minutes" as relayctl's expire and list mean it: age >= n minutes, so
// `expire L` removes exactly the entries relay_allowed() no longer honours for lifetime L,
// and `expire 0` removes every entry that is not in the future.
inline bool older_than(std::int64_t stamp, std::int64_t now, std::int64_t seconds) {
  return stamp <= now - seconds;
}

struct Entry {
  std::string address;  // normalised
  std::int64_t ticks = 0;
  bool operator==(const Entry&) const = default;
};

// The relay database's operations, whatever holds it: RelayDb (LMDB, below) or
// PgRelay (common/pg/pg_relay.hpp, several nodes sharing one PostgreSQL database).
class RelayStore {
 public:
  virtual ~RelayStore() = default;
  // REQUIRES: a writable store. address must be normalised (normalize()).
  virtual Status stamp(const std::string& address, std::int64_t ticks) = 0;
  virtual Result<std::optional<std::int64_t>> lookup(const std::string& address) = 0;
  // Removes each address in one transaction; returns how many were present, and lists
  // the absent ones in *absent when given.
  virtual Result<std::size_t> erase(const std::vector<std::string>& addresses,
                                    std::vector<std::string>* absent = nullptr) = 0;
  // Removes every entry with older_than(stamp, now, seconds); returns how many.
  virtual Result<std::size_t> expire(std::int64_t now, std::int64_t seconds) = 0;
  // Every entry in key order (one read snapshot). An unparsable stored value is an error.
  virtual Result<std::vector<Entry>> scan() = 0;
  // Load a dump: replace makes the database exactly `entries`; merge adds them, a file
  // entry winning over a stored one. One write transaction either way: readers see the
  // old or the new content, never a mixture.
  virtual Status load(const std::vector<Entry>& entries, bool replace) = 0;
};

class RelayDb : public RelayStore {
 public:
  enum class Mode { kRead, kWrite };
  // Opens `path` (MDB_NOSUBDIR; the lock file is path + "-lock"). kWrite creates the file
  // when missing, mode 0640 (lock 0660 follows the same mode bits plus group write, see
  // fix_ownership). kRead fails if the file does not exist.
  static Result<std::unique_ptr<RelayDb>> open(const std::string& path, Mode mode);

  // REQUIRES: opened kWrite (see RelayStore for all of these).
  Status stamp(const std::string& address, std::int64_t ticks) override;
  Result<std::optional<std::int64_t>> lookup(const std::string& address) override;
  Result<std::size_t> erase(const std::vector<std::string>& addresses,
                            std::vector<std::string>* absent = nullptr) override;
  Result<std::size_t> expire(std::int64_t now, std::int64_t seconds) override;
  Result<std::vector<Entry>> scan() override;
  Status load(const std::vector<Entry>& entries, bool replace) override;

  const std::string& path() const { return env_->path(); }

 private:
  explicit RelayDb(std::unique_ptr<lmdb::Env> env) : env_(std::move(env)) {}
  Status find_dbi();
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi dbi_ = 0;
  bool have_dbi_ = false;
};

// smtpd's question: may the client at `address` (normalised) relay now? A missing or
// unreadable database means no (logged by the caller from the Status).
Result<bool> allowed(RelayStore& db, const std::string& address, std::int64_t now, std::int64_t lifetime);

// smtpd's handle: opens the database read-only on first use, so smtpd may start before
// the file exists (pop3d or relayctl create it) and needs only mb-relay membership, not
// an open before the privilege drop. An error (e.g. a damaged file) is returned for the
// caller to log; the caller then refuses to relay.
class RelayChecker {
 public:
  RelayChecker(std::string path, std::int64_t lifetime) : path_(std::move(path)), lifetime_(lifetime) {}
  // `address` in any form normalize() accepts (e.g. smtpd's client address text).
  Result<bool> allowed(std::string_view address, std::int64_t now);

 private:
  std::string path_;
  std::int64_t lifetime_;
  std::unique_ptr<RelayDb> db_;
};

// As the files' owner (pop3d, or relayctl acting as mb-pop3d): gives relay.mdb group
// mb-relay mode kDataMode and its lock file group mb-relay mode 0660 (pop3d writes, and
// the authentication daemon for IMAP logins through the group; smtpd shares the lock
// table as a reader), for files LMDB may just have created. Never as
// root, never on a file someone else owns, never through a symlink: a no-op then.
Status fix_ownership(const std::string& path);
// As root: creates a missing relay.mdb and lock file empty (O_EXCL, never through a
// symlink) for kOwner:kGroup, modes 0640 and 0660, so that the owner can lay the
// database out; existing files are left alone and never opened. A no-op for others.
Status precreate(const std::string& path);
// The user and group relay.mdb belongs to, whom root's tools become before opening it.
inline constexpr const char* kOwner = "mb-pop3d";
inline constexpr const char* kGroup = "mb-relay";
// relay.mdb's mode: group-writable, since two writers stamp it (pop3d, its owner, for
// POP3 logins; the authentication daemon, through mb-relay, for IMAP logins). smtpd,
// also in mb-relay, opens it read-only; write access would give it nothing it does
// not have, since it is smtpd that decides whether a client may relay.
inline constexpr mode_t kDataMode = 0660;

// The `relayctl dump` / `load` text: one "address<TAB>ticks" line per entry.
std::string format_entry(const Entry& e);
// Parses such text. Blank lines and lines starting with '#' are skipped; address and
// ticks may be separated by tabs or spaces; a CR before the LF is ignored. Errors name
// the line: "NAME:LINE: invalid address 'x'". A duplicate (after normalisation) is an
// error, so a hand edit cannot silently lose a line.
// UNTRUSTED: the file is edited by hand.
Result<std::vector<Entry>> parse_dump(std::string_view text, const std::string& name);

}  // namespace common::relaydb
