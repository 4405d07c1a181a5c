// One user's Maildir as a POP3 maildrop (RFC 1939 8 "maildrop"): locked for the session,
// new/ moved to cur/ with ":2," as a mail client does, messages listed with their RFC 1939
// sizes (from the ",W=" field our local agent and Dovecot write, else by reading the
// file) and unique-ids (the Maildir unique name before ':', stable across new/ -> cur/ and
// flag changes). Deletions are only marks until commit() in the UPDATE state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace pop3d {

struct MessageInfo {
  std::string name;  // file name in cur/
  std::string uid;   // RFC 1939 7 unique-id: 1..70 octets of 0x21..0x7E
  std::uint64_t size = 0;
  bool deleted = false;
};

// The unique-id for a Maildir file name: the part before ':' when it is a valid RFC 1939
// unique-id, otherwise "S" + 40 hex digits of its SHA-256 (still stable).
std::string uid_for(std::string_view filename);
// The ",W=" (else nothing) size field of a Maildir file name, before any ':' info.
std::optional<std::uint64_t> wire_size_field(std::string_view filename);

// Arrival order of two Maildir file names: delivery seconds, then the "M<usec>" field of
// the middle part, both as numbers, then the rest of the name.
bool arrival_less(std::string_view a, std::string_view b);

class Maildrop {
 public:
  enum class OpenError { kNone, kInUse, kFailed };
  // Locks <path>/mailbag-pop3.lock (flock, so a second session, in this or another
  // process, is refused and a crash releases it), moves new/ into cur/ and lists cur/.
  // On failure, *why says whether the maildrop was in use.
  static common::Result<std::unique_ptr<Maildrop>> open(const std::string& path, OpenError* why);

  const std::vector<MessageInfo>& messages() const { return msgs_; }
  // REQUIRES: i < messages().size(). Marks and unmarks (RSET) deletions.
  void mark_deleted(std::size_t i) { msgs_[i].deleted = true; }
  void unmark_all();
  // Number and total size of the messages not marked deleted (STAT, RFC 1939 5).
  std::size_t live_count() const;
  std::uint64_t live_size() const;

  // Opens message i for reading (O_RDONLY | O_NOFOLLOW).
  common::Result<common::io::UniqueFd> open_message(std::size_t i) const;
  // UPDATE state (RFC 1939 6): removes the marked messages; a file already gone is
  // fine. Returns how many were removed, or an error naming the first that could not be.
  // The bytes and messages removed go into maildirsize as one negative line (Maildir++
  // quota), so the local agent and Dovecot see the room made.
  common::Result<std::size_t> commit();

  const std::string& path() const { return path_; }

 private:
  Maildrop() = default;
  std::string path_;
  common::io::UniqueFd lock_, cur_;
  std::vector<MessageInfo> msgs_;
};

}  // namespace pop3d
