// Core, intake: a new message is linked into the queue by the daemon, then made durable
// with the others of its loop turn by one sync (group commit), and only then answered
// (RFC 5321 6.1: a 250 after DATA is a promise). A failed sync refuses the whole batch
// with a temporary error and removes its files; a submitter gone before the sync never
// saw a 250 and will send again, so its copy is dropped.
#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

using common::mail::Outcome;
using common::mail::Verdict;
namespace log = common::log;

namespace {

std::vector<std::string> addresses(const Message& m) {
  std::vector<std::string> out;
  out.reserve(m.rcpts.size());
  for (const auto& r : m.rcpts) out.push_back(r.address);
  return out;
}

Verdict temp(const std::string& status, const std::string& text) {
  return Verdict{Outcome::kTemporary, status, text};
}

}  // namespace

Message* Core::enqueue(std::unique_ptr<Message> m) {
  index_.add(m->id, addresses(*m));
  return queue_.insert(std::move(m));
}

void Core::drop(Message* m) {
  index_.remove(m->id, addresses(*m));
  queue_.remove(m->id);
}

std::optional<Core::Refusal> Core::admit(const std::string& queue_id, std::uint64_t data_size) const {
  if (data_size > s_.max_data_size)
    return Refusal{Verdict{Outcome::kPermanent, "5.3.4", "message too big"}, "over message_size_limit"};
  bool dup = queue_.contains(queue_id);
  for (const auto* list : {&pending_, &syncing_})
    for (const auto& p : *list) dup = dup || p.msg->id == queue_id;
  if (dup) return Refusal{temp("4.3.0", "queue id in use, try again"), "duplicate queue id"};
  return std::nullopt;
}

void Core::linked(std::uint64_t conn_id, std::uint64_t request_id, std::unique_ptr<Message> m) {
  pending_.push_back(PendingIntake{conn_id, request_id, std::move(m)});
  host_.request_commit();
}

void Core::commit() {
  // One sync covers every file linked since the last one, their directory entries and
  // the removals of finished messages. While it runs the loop takes in the next batch.
  if (sync_running_ || (pending_.empty() && !removals_dirty_)) return;
  removals_dirty_ = false;
  syncing_.swap(pending_);
  sync_running_ = true;
  host_.start_sync();
}

void Core::synced(int err) {
  sync_running_ = false;
  std::vector<PendingIntake> batch;
  batch.swap(syncing_);
  if (err != 0) {
    log::error("syncfs of the spool failed: %s; %zu new messages refused", std::strerror(err), batch.size());
    for (auto& p : batch) {
      if (p.conn_id == kInternal) {
        // Our own notice: keep it, a later sync will cover it.
        pending_.push_back(std::move(p));
        continue;
      }
      (void)host_.unlink(p.msg->id);
      host_.answer_submit(p.conn_id, p.request_id,
                          temp(err == ENOSPC ? "4.3.1" : "4.3.0", "cannot make message durable, try again"),
                          "");
    }
    if (!pending_.empty()) host_.request_commit_later();
    return;
  }
  for (auto& p : batch) {
    auto role =
        p.conn_id == kInternal ? std::optional<std::string>("queue-manager") : host_.submitter(p.conn_id);
    if (!role) {
      log::warn("%s: submitter went away before the commit; message discarded", p.msg->id.c_str());
      (void)host_.unlink(p.msg->id);
      removals_dirty_ = true;
      continue;
    }
    Message* m = enqueue(std::move(p.msg));
    common::maillog::queued(m->id, m->sender, m->data_size, m->rcpts.size(), *role);
    if (p.conn_id != kInternal)
      host_.answer_submit(p.conn_id, p.request_id, Verdict{Outcome::kOk, "2.0.0", "queued"}, m->id);
    if (m->hold)
      log::info("%s: on hold: quarantined by a mail filter: %s (mailctl queue release %s)", m->id.c_str(),
                log::printable(m->hold_reason, 200).c_str(), m->id.c_str());
    else
      queue_.make_ready(m);
  }
  host_.request_dispatch();
  // What arrived while this sync ran is the next batch.
  if (!pending_.empty() || removals_dirty_) host_.request_commit();
}

void Core::adopt(std::unique_ptr<Message> m, std::int64_t now) {
  for (auto& r : m->rcpts) {
    if (r.state == RcptState::kInFlight) r.state = RcptState::kPending;
    // We cannot know whether an attempt before the restart delivered these.
    if (r.state == RcptState::kPending) r.maybe_delivered = true;
  }
  Message* p = enqueue(std::move(m));
  if (p->hold) return;
  if (p->next_try <= now)
    queue_.make_ready(p);
  else
    queue_.defer(p);
}

}  // namespace qmgr
