// The queue file: a short text envelope followed by the message with LF line ends.
// Written by smtpd, sendmail and the queue manager (bounces); read by the queue manager,
// which validates every byte of the envelope before taking a file in, and by delivery
// agents through a passed fd. Format, record by record, in mailbag-queue(5):
//   MBQ1            magic and version
//   I <id>          queue id
//   T <unix time>   arrival
//   P <protocol>    ESMTP, ESMTPS, ESMTPA, ESMTPSA, SMTP, local, bounce
//   C <client>      free text about the origin, for logs and Received (optional)
//   A <user>        authenticated user (optional)
//   B 7BIT|8BITMIME body type
//   U               SMTPUTF8 was requested (optional)
//   S <addr>        envelope sender, "<>" for the null sender
//   R <addr>        one per recipient, at least one
//   D <ret> <envid> DSN request of MAIL (RFC 3461 4.3, 4.4): FULL, HDRS or "-"; the
//                   ENVID as xtext or "-" (optional)
//   N <i> <notify> <orcpt>  DSN request of the i-th recipient (from 0; RFC 3461 4.1,
//                   4.2): NOTIFY as "SUCCESS,DELAY", "NEVER" or "-"; ORCPT as
//                   type;xtext or "-" (optional, at most one per recipient)
//   H <reason>      quarantined by a mail filter: queued on hold until the administrator
//                   releases it (optional; at most kMaxHoldReason bytes)
//   Q               REQUIRETLS (RFC 8689): relay only over verified TLS (optional)
//   J 0|1           junk verdict: 1 = deliver into the Junk folder (optional on read;
//                   always written, and patched at the end like Z)
//   Z <size> <lines> message bytes and LF count, 20 digits each (patched at the end)
//   E               end of envelope; the message follows
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/mail/dsn.hpp"
#include "common/result.hpp"

namespace common::spool {

inline constexpr std::size_t kMaxEnvelope = 4 << 20;  // header size limit when reading

struct Envelope {
  std::string queue_id;
  std::int64_t arrival = 0;
  std::string protocol = "ESMTP";
  std::string client;
  std::string auth_user;
  bool body_8bit = false;
  bool smtputf8 = false;
  std::string sender;  // canonical Address::str(); "" is the null sender
  std::vector<std::string> recipients;
  std::uint64_t data_size = 0;
  std::uint64_t data_lines = 0;
  // The server's verdict that the message is spam: the local agent then delivers it
  // into the recipient's Maildir++ folder ".Junk" (unless the user switched that off).
  // Set by whoever filters the message (rules, milters, built-in checks), never derived
  // from a header the sender could write. Only ever lowers a message's standing, so any
  // submitter may set it.
  bool junk = false;
  // Quarantine (a mail filter's SMFIR_QUARANTINE): when not empty the queue manager
  // takes the message in on hold, and it waits until `mailctl queue release`. Like
  // `junk` it only lowers a message's standing, so any submitter may set it.
  std::string hold_reason;
  // Delivery status notification requests (RFC 3461): RET and ENVID (decoded) of MAIL,
  // and NOTIFY/ORCPT per recipient: `dsn` is empty or has one entry per recipient.
  common::mail::DsnRet dsn_ret = common::mail::DsnRet::kUnspecified;
  std::string dsn_envid;
  std::vector<common::mail::DsnRcpt> dsn;
  // The DSN request of recipient i (none when not given).
  common::mail::DsnRcpt dsn_of(std::size_t i) const {
    return i < dsn.size() ? dsn[i] : common::mail::DsnRcpt{};
  }
  // RFC 8689 REQUIRETLS: the sender asked that every hop use verified TLS; the remote
  // agent relays the message only so, to a server that offers REQUIRETLS, or bounces it.
  bool requiretls = false;
};

inline constexpr std::size_t kMaxHoldReason = 200;

// The envelope as text, with the size/lines of `env` (the writer patches them at the
// end). Control characters in a value are written as '?', so no value can end its
// record early; the reader refuses them anyway.
std::string format_envelope(const Envelope& env);

struct ParsedEnvelope {
  Envelope env;
  std::uint64_t data_offset = 0;  // where the message starts
};
// UNTRUSTED: parses and validates the envelope at the start of `head` (which may hold
// the whole file or just its first part); fails if the envelope is not complete in it.
Result<ParsedEnvelope> parse_envelope(std::string_view head);

// Reads and validates the envelope of an open queue file and checks the file size
// against the Z record, so a truncated file is caught.
Result<ParsedEnvelope> read_envelope(int fd);

// Writes one queue file into an unlinked O_TMPFILE in `dir_fd`, group-readable and
// writable (mode 0660) so that the queue manager may link it into the queue.
class QueueFileWriter {
 public:
  static Result<QueueFileWriter> create(int dir_fd, const Envelope& env);

  QueueFileWriter(QueueFileWriter&&) = default;
  QueueFileWriter& operator=(QueueFileWriter&&) = default;

  // Appends message bytes (LF line ends). Buffered.
  Status append(std::string_view data);
  // THE way a filter marks the message as junk (Envelope::junk) once its content is
  // known: any time before finish(), which writes the verdict into the J record.
  void mark_junk(bool junk = true) { junk_ = junk; }
  bool junk() const { return junk_; }
  // Flushes and patches the size record. The file is not fsync'd: that is the queue
  // manager's job, batched over many messages.
  Status finish();

  std::uint64_t size() const { return size_; }
  std::uint64_t lines() const { return lines_; }
  int fd() const { return fd_.get(); }
  io::UniqueFd release_fd() { return std::move(fd_); }

 private:
  QueueFileWriter() = default;
  Status flush();
  io::UniqueFd fd_;
  std::string buf_;
  std::uint64_t size_ = 0;
  std::uint64_t lines_ = 0;
  std::uint64_t z_offset_ = 0;  // where "Z " starts
  bool junk_ = false;
  std::uint64_t written_ = 0;  // bytes written to the file so far
};

}  // namespace common::spool
