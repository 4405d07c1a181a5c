// Inside one group commit of the local agent (batch.hpp): the Batch object and its
// per-recipient state. Private to the batch's three files, one per job:
//   batch.cpp           the order of the steps, each recipient's resolution, the answers
//   batch_store.cpp     Maildir files: quota, tmp/ drafts, fsync or syncfs, new/, flags
//   batch_new_mail.cpp  new messages: forwards, fan-outs, auto-replies, quota warnings,
//                       written to the drop directory and submitted
// A batch lives until the queue manager has answered every Submit it sent (or they
// failed): only then are its Maildir files published and its verdicts final.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ipc/messages.hpp"
#include "common/mail/outcome.hpp"
#include "common/maildir/maildirsize.hpp"
#include "delivery/headers.hpp"
#include "delivery/local/batch.hpp"
#include "delivery/local/outgoing.hpp"
#include "delivery/message.hpp"

namespace delivery::local {

// One recipient of one request.
struct Slot {
  std::size_t req = 0, rcpt = 0;
  std::optional<common::mail::Verdict> verdict;  // set once failed (or resolved to a failure)
  std::string done;                              // what was done, for the log and the answer
};

// One message file being written for a slot.
struct Item {
  std::size_t slot = 0;
  Maildir* md = nullptr;  // the mailbox root, or its Junk folder
  std::string root;       // the mailbox root: where its Maildir++ quota is kept
  Draft draft;
  std::string user;  // lower-case address
  std::int64_t quota = 0;
};

// Maildir++ usage of one Maildir during the batch (reservations included).
struct QuotaState {
  std::int64_t quota = 0;
  common::maildir::Usage usage;
  bool warned = false;  // the warning marker exists (or a warning goes out now)
};

// One request's own facts.
struct ReqInfo {
  std::optional<MessageRef> msg;
  Headers headers;
  std::set<std::string> marks;  // lower-cased Delivered-To values
  bool junk = false;            // the queue file's junk verdict (Envelope::junk)
};

void append_done(Slot& s, const std::string& what);

class Batch : public std::enable_shared_from_this<Batch> {
 public:
  Batch(std::vector<Request> reqs, BatchDeliverer& owner);
  // A batch dropped unfinished (the agent stops while a submission is out) takes its
  // drafts out of tmp/; the queue manager sends the message again.
  ~Batch();

  // Runs the batch; `finish` gets the answers, at once when no new message waits for
  // the queue manager, else when the last SubmitDone (or failure) arrives.
  void start(BatchDeliverer::Finish finish);

 private:
  // batch.cpp
  void fail(std::size_t slot, common::mail::Verdict v);
  const std::string& qid(std::size_t req) const { return reqs_[req].msg.queue_id; }
  void write_request(std::size_t i);
  void deliver_slot(std::size_t s);
  bool is_quota_warning(std::size_t i);
  void complete();
  std::vector<common::ipc::DeliverDone> answers();

  // batch_store.cpp
  // The Maildir at `path` (or its Maildir++ folder `folder`), opened once per batch.
  Maildir* maildir(const std::string& path, common::Status* err, std::string_view folder = {});
  // Where a message for `mb` goes: its root, or its ".Junk" folder when the message is
  // junk and the user keeps junk apart (Mailbox::junk_folder).
  Maildir* target(const Mailbox& mb, bool junk, common::Status* err);
  QuotaState* quota_state(const Mailbox& mb, std::size_t req, common::Status* err);
  void sync_files();
  void sync_filesystems(bool published, const char* fault_point);
  void publish_files();
  void sync_directories();
  void after_delivery();

  // batch_new_mail.cpp
  Submitter* submitter() const { return owner_.submitter(); }
  void add_forwards(std::size_t s, const Resolution& r);
  std::string remote_sender(std::size_t s, const Resolution& r);
  void add_autoreply(std::size_t s, const Mailbox& mb);
  void add_quota_warning(std::size_t s, const Mailbox& mb, QuotaState& qs);
  void write_outgoing_all();
  void outgoing_failed(Outgoing& o);
  // Submits the written messages; false when there is nothing to wait for.
  bool submit_all();
  void submitted(const std::vector<Outgoing*>& go, const std::vector<common::Status>& st);

  std::vector<Request> reqs_;
  BatchDeliverer& owner_;
  Recipients& recipients_;
  NameGenerator& names_;
  const LocalPolicy& policy_;
  std::int64_t now_;
  BatchDeliverer::Finish finish_;
  bool completed_ = false;
  std::vector<ReqInfo> info_;
  std::vector<Slot> slots_;
  std::vector<Item> items_;
  std::vector<std::unique_ptr<Outgoing>> out_;
  std::map<std::string, std::unique_ptr<Maildir>> maildirs_;
  std::map<std::string, common::Status> open_errors_;
  std::map<std::string, QuotaState> quotas_;
  std::set<std::string> replied_;  // "user sender" answered in this batch
  std::size_t open_drafts_ = 0;
};

}  // namespace delivery::local
