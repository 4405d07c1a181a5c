// Maildir delivery for the local agent (https://cr.yp.to/proto/maildir.html, with
// Dovecot's S= and W= size fields): write tmp/<unique>, fsync, rename into new/<unique>,
// fsync new/. The steps are separate functions so the agent can group-commit a batch:
// write every file, fsync each, rename all, then fsync each new/ directory once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "delivery/message.hpp"

namespace delivery::local {

// The hostname part of a unique name: '/' becomes "\057" and ':' "\072" as the Maildir
// spec says; ',' becomes "\054" so the ",S=" and ",W=" fields stay unambiguous.
std::string maildir_hostname(std::string_view host);

// "<seconds>.M<usec>P<pid>Q<counter>[<tag>].<host>,S=<size>,W=<vsize>": S is the file size
// in bytes, W its size with CRLF line ends (Dovecot's fields, so readers need no stat).
// The optional tag (delivery_tag()) names the queue file and recipient the file was
// delivered for, so that a retry after a crash can find it.
std::string unique_name(std::int64_t seconds, long usec, pid_t pid, std::uint64_t counter,
                        std::string_view escaped_host, std::uint64_t size, std::uint64_t vsize,
                        std::string_view tag = {});

// "R<queue id>-<16 hex digits of a hash of the lower-cased recipient>": what a delivery
// of one queued message to one recipient puts into the file name (letters, digits, '-').
std::string delivery_tag(std::string_view queue_id, std::string_view recipient);

// Hands out unique names for this process (the counter makes two deliveries in the same
// microsecond differ).
class NameGenerator {
 public:
  explicit NameGenerator(std::string_view hostname);
  std::string next(std::uint64_t size, std::uint64_t vsize, std::string_view tag = {});

 private:
  std::string host_;
  pid_t pid_;
  std::uint64_t counter_ = 0;
};

// The lines the agent puts in front of the message: "Return-Path: <sender>" (RFC 5321
// 4.4; "<>" for the null sender), "X-Original-To: recipient" when the envelope recipient
// is not the mailbox's own address (an alias, a catch-all, a domain alias or an address
// with a recipient delimiter led there; Postfix writes the same header, and a multidrop
// mailbox read by fetchmail needs it to sort the mail out again), and "Delivered-To:
// address" (the mailbox that got it, as Postfix and Dovecot write it, used later for loop
// detection). LF line ends.
std::string delivery_headers(std::string_view sender, std::string_view mailbox_address,
                             std::string_view recipient = {});

// One open Maildir: the tmp/ and new/ directories as fds, so file creation, rename and
// directory fsync need no path lookups.
class Maildir {
 public:
  // Opens <path>/tmp and <path>/new, creating <path> and cur/ new/ tmp/ (mode 0770
  // before umask) when missing.
  static common::Result<Maildir> open(const std::string& path);
  // Opens the Maildir++ folder <root>/.<name> (a Maildir of its own, "." and "/" not
  // allowed in `name`), creating the root as open() does and the folder when missing:
  // mkdirat and O_NOFOLLOW below the root's fd (a link planted in the mail tree leads
  // nowhere), mode 0770, its "maildirfolder" marker, and `name` added to the root's
  // "subscriptions" file (Dovecot's, one name a line) so IMAP clients show it. Only a
  // new folder is subscribed: a user who unsubscribed stays so.
  static common::Result<Maildir> open_folder(const std::string& root, std::string_view name);

  const std::string& path() const { return path_; }
  int tmp_fd() const { return tmp_.get(); }
  int new_fd() const { return new_.get(); }
  // fsync(2) of new/, making renamed entries durable.
  common::Status sync_new() const;
  // Is there a message whose name holds `tag` in new/ or cur/? (Deliver.check_duplicates:
  // an earlier attempt may have delivered it without its verdict reaching the queue.)
  common::Result<bool> holds(std::string_view tag) const;
  // syncfs(2) of the filesystem holding the Maildir: every file and directory entry on
  // it is durable afterwards. One journal commit for a whole batch, where an fsync per
  // file costs one commit each (ext4). `fault_point` names the injection point.
  common::Status sync_filesystem(const char* fault_point) const;
  dev_t device() const { return dev_; }

 private:
  static common::Result<Maildir> at(common::io::UniqueFd dir, const std::string& path);
  std::string path_;
  common::io::UniqueFd tmp_, new_;
  dev_t dev_ = 0;
};

// A message file written into tmp/ and not yet visible in new/.
struct Draft {
  std::string name;
  common::io::UniqueFd fd;  // may be closed early when a batch has many files open
  std::uint64_t size = 0;
  bool in_new = false;  // renamed into new/
};

// Creates tmp/<unique> with O_EXCL (mode 0660), writes `headers` and the message. On
// failure nothing is left behind; the error carries the errno (err()). `tag` goes into
// the name (see unique_name).
common::Result<Draft> write_draft(const Maildir& md, NameGenerator& names, std::string_view headers,
                                  const MessageRef& msg, std::string_view tag = {});
// fsync(2) of the draft's data (re-opens it by name if its fd was closed).
common::Status sync_draft(const Maildir& md, Draft& d);
// rename(2) tmp/<name> -> new/<name>.
common::Status publish_draft(const Maildir& md, Draft& d);
// Removes the draft from tmp/ or new/ (best effort, for failed batches).
void discard_draft(const Maildir& md, Draft& d);

}  // namespace delivery::local
