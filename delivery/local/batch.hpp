// One group commit of the local agent: every Deliver request that arrived in the same
// loop turn is delivered together. Per recipient, the address book (recipients.hpp) says which
// mailbox gets a copy and which addresses get a new message. Then: the quota and domain
// size limit are checked, new messages (forwards, fan-outs, auto-replies, quota
// warnings) written into the drop directory, every Maildir file written to tmp/ and made
// durable, the new messages submitted and their SubmitDone awaited (without blocking the
// agent's loop: the batch waits, the loop serves other batches), and only then the
// files renamed into new/ and the new/ entries made durable; then the verdicts are
// final and the Maildir++ usage is updated. Small batches fsync each file and new/;
// from kSyncfsMin on, one syncfs(2) per filesystem replaces them (see local(8)). No
// socket of its own here (the Submitter is one), so tests drive it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "delivery/local/maildir.hpp"
#include "delivery/local/recipients.hpp"
#include "delivery/local/submitter.hpp"

namespace delivery::local {

struct Request {
  common::ipc::Deliver msg;
  common::io::UniqueFd fd;  // the queue file, read-only
};

// What the batch needs from the configuration.
struct LocalPolicy {
  std::string hostname;
  bool quota_bounce = false;          // quota_exceeded = bounce (else defer)
  std::int64_t warning_percent = 90;  // quota_warning_percent; 0: never
  std::string quota_flags_dir;        // data_directory/quota; "" = none
  std::string srs_secret;             // "" = forward with the original sender
  std::string delimiter = "+";        // recipient_delimiter, for the auto-reply To/Cc test
};

// More Received header fields than this and the message is a loop (RFC 5321 6.3).
inline constexpr std::size_t kMaxReceived = 30;
// Marker in a Maildir: the quota warning was sent (removed below the mark).
inline constexpr const char* kWarnedFile = "mailbag-quota-warned";
// The Maildir++ folder (".Junk" in the mailbox) for messages marked junk.
inline constexpr const char* kJunkFolder = "Junk";

class BatchDeliverer {
 public:
  // Files (or directories) in one batch from which syncfs replaces per-file fsync.
  static constexpr std::size_t kSyncfsMin = 4;

  // Without a Submitter, new messages cannot be sent: recipients that need one get a
  // temporary failure (and no auto-replies or warnings go out).
  BatchDeliverer(Recipients& recipients, NameGenerator& names, std::size_t syncfs_min = kSyncfsMin)
      : recipients_(recipients), names_(names), syncfs_min_(syncfs_min) {}
  BatchDeliverer(Recipients& recipients, NameGenerator& names, Submitter* submitter, LocalPolicy policy,
                 std::size_t syncfs_min = kSyncfsMin)
      : recipients_(recipients),
        names_(names),
        submitter_(submitter),
        policy_(std::move(policy)),
        syncfs_min_(syncfs_min) {}

  // Delivers every request; `finish` gets one answer per request, in order, with one
  // verdict per recipient: at once when the batch sends no new message, otherwise when
  // the Submitter has reported on all of them. Logs one maillog line per recipient.
  // Never fails as a whole: each problem becomes the verdict of the recipients it touches.
  using Finish = std::function<void(std::vector<common::ipc::DeliverDone> answers)>;
  void deliver(std::vector<Request> batch, Finish finish);
  // The same, returning the answers: only with a Submitter that answers before its
  // submit() returns (or none), as in tests.
  std::vector<common::ipc::DeliverDone> deliver(std::vector<Request>& batch);

  // Reads the flag directory (at start) and re-checks every flagged user's usage,
  // clearing the flags of those below their quota again (a timer calls it).
  void recheck_full_flags(std::int64_t now);
  // Sets or clears a user's "mailbox full" flag after a delivery or a quota refusal.
  void update_full_flag(const std::string& user, std::int64_t used, std::int64_t quota, std::int64_t now);

  // Drafts kept open at once; past this, files are closed after writing and re-opened
  // for fsync, so a huge batch cannot run out of descriptors.
  static constexpr std::size_t kMaxOpenDrafts = 256;

  Recipients& recipients() { return recipients_; }
  NameGenerator& names() { return names_; }
  Submitter* submitter() { return submitter_; }
  const LocalPolicy& policy() const { return policy_; }
  void set_policy(LocalPolicy p) { policy_ = std::move(p); }  // a reload, between batches
  std::size_t syncfs_min() const { return syncfs_min_; }

 private:
  Recipients& recipients_;
  NameGenerator& names_;
  Submitter* submitter_ = nullptr;
  LocalPolicy policy_;
  std::size_t syncfs_min_;
  std::set<std::string> flagged_;  // users whose flag file exists
  bool flags_loaded_ = false;
  bool flag_warned_ = false;
};

}  // namespace delivery::local
