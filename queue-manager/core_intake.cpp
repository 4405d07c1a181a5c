// Core, intake: a new message is linked into the queue by the daemon, then made durable
// with the others of its loop turn by one sync (group commit), and only then answered
// (RFC 5321 6.1: a 250 after DATA is a promise). A failed sync refuses the whole batch
// with a temporary error and removes its files; a submitter gone before the sync never
// saw a 250 and will send again, so its copy is dropped.
#include <cerrno>
#include <cstring>
#include <set>

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

// The limited relay domains among `addresses`, each once.
std::set<std::string> limited_domains(const std::map<std::string, std::uint64_t>& limits,
                                      const std::vector<std::string>& addresses) {
  std::set<std::string> out;
  if (limits.empty()) return out;
  for (const auto& a : addresses) {
    std::string d = DomainIndex::domain_of(a);
    if (limits.count(d)) out.insert(d);
  }
  return out;
}

}  // namespace

Message* Core::enqueue(std::unique_ptr<Message> m) {
  auto rcpts = addresses(*m);
  index_.add(m->id, rcpts);
  for (const auto& d : limited_domains(s_.domain_max_queued, rcpts)) queued_bytes_[d] += m->data_size;
  return queue_.insert(std::move(m));
}

void Core::drop(Message* m) {
  auto rcpts = addresses(*m);
  index_.remove(m->id, rcpts);
  for (const auto& d : limited_domains(s_.domain_max_queued, rcpts)) {
    auto it = queued_bytes_.find(d);
    if (it == queued_bytes_.end()) continue;
    it->second = it->second > m->data_size ? it->second - m->data_size : 0;
    if (it->second == 0) queued_bytes_.erase(it);
  }
  queue_.remove(m->id);
}

std::uint64_t Core::queued_bytes(const std::string& domain) const {
  auto it = queued_bytes_.find(domain);
  std::uint64_t n = it == queued_bytes_.end() ? 0 : it->second;
  for (const auto* list : {&pending_, &syncing_})
    for (const auto& p : *list)
      if (limited_domains(s_.domain_max_queued, addresses(*p.msg)).count(domain)) n += p.msg->data_size;
  return n;
}

std::optional<Core::Refusal> Core::admit(const std::string& queue_id, std::uint64_t data_size,
                                         const std::vector<std::string>& recipients) const {
  if (data_size > s_.max_data_size)
    return Refusal{Verdict{Outcome::kPermanent, "5.3.4", "message too big"}, "over message_size_limit"};
  bool dup = queue_.contains(queue_id);
  for (const auto* list : {&pending_, &syncing_})
    for (const auto& p : *list) dup = dup || p.msg->id == queue_id;
  if (dup) return Refusal{temp("4.3.0", "queue id in use, try again"), "duplicate queue id"};
  // A backup MX holds a relay domain's mail only up to its max_queued: past it the
  // sender keeps the message and retries (RFC 3463 4.3.1, mail system full), so a
  // primary that stays away cannot fill the spool.
  for (const auto& d : limited_domains(s_.domain_max_queued, recipients))
    if (queued_bytes(d) + data_size > s_.domain_max_queued.at(d))
      return Refusal{
          Verdict{Outcome::kTemporary, "4.3.1", "too much mail queued for " + d + ", try again later"},
          "over the relay domain's max_queued"};
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
