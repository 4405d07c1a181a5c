// Core, delivery: hands ready messages to the agents and books their verdicts. Each
// agent connection takes up to kMaxInflightPerAgent deliveries of at most
// kMaxRcptsPerDelivery recipients, remote ones grouped by domain (batches.hpp).
// Recipients of a transport without an agent with room wait (not a deferral) until one
// has room. A lost agent puts its recipients back to pending, marked as maybe delivered;
// a message whose agent died twice is deferred like a temporary failure, so that one
// message that kills the agent cannot keep it in a crash loop (the poison-message guard).
#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/ascii.hpp"
#include "queue-manager/batches.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

using common::Status;
using common::mail::Outcome;
namespace log = common::log;
namespace ipc = common::ipc;

void Core::agent_ready(std::uint64_t agent_id, Transport t) {
  agents_[agent_id] = Agent{t, 0};
  // The messages that waited for an agent of this kind can go.
  for (auto& mid : waiting_[static_cast<int>(t)])
    if (Message* m = queue_.find(mid); m && !m->scheduled && m->in_flight == 0) queue_.make_ready(m);
  waiting_[static_cast<int>(t)].clear();
  host_.request_dispatch();
}

void Core::agent_lost(std::uint64_t agent_id, std::int64_t now) {
  agents_.erase(agent_id);
  std::vector<std::uint64_t> lost;
  for (const auto& [did, inf] : inflight_)
    if (inf.agent_id == agent_id) lost.push_back(did);
  for (auto did : lost) {
    Inflight inf = std::move(inflight_[did]);
    inflight_.erase(did);
    Message* m = queue_.find(inf.msg_id);
    if (!m) continue;
    requeue(*m, inf.rcpts);
    for (auto i : inf.rcpts) m->rcpts[i].maybe_delivered = true;
    --m->in_flight;
    if (++m->agent_crashes >= 2) {
      for (auto i : inf.rcpts) {
        m->rcpts[i].status = "4.3.0";
        m->rcpts[i].text = "delivery agent died while delivering";
      }
    }
    if (m->in_flight == 0) {
      if (m->agent_crashes >= 2)
        end_round(m, now);
      else
        queue_.make_ready(m);
    }
  }
  host_.request_dispatch();
}

Core::Agent* Core::agent_with_room(Transport t, std::uint64_t* id) {
  Agent* best = nullptr;
  for (auto& [aid, a] : agents_) {
    if (a.transport != t || a.inflight >= kMaxInflightPerAgent[static_cast<int>(t)]) continue;
    if (!best || a.inflight < best->inflight) {
      best = &a;
      *id = aid;
    }
  }
  return best;
}

void Core::dispatch(std::int64_t now) {
  while (Message* m = queue_.pop_ready()) {
    if (m->hold || m->in_flight > 0) continue;
    dispatch_one(m, now);
  }
}

// Sends every pending recipient of `m` to its agent. Returns false if it could not (the
// message then waits for an agent, or has been deferred, completed or dropped).
ipc::Deliver Core::new_delivery(const Message& m) {
  ipc::Deliver d;
  d.delivery_id = next_delivery_id_++;
  d.queue_id = m.id;
  d.arrival = m.arrival;
  d.sender = m.sender;
  d.data_offset = m.data_offset;
  d.data_size = m.data_size;
  d.data_lines = m.data_lines;
  d.body_8bit = m.body_8bit;
  d.smtputf8 = m.smtputf8;
  d.origin = m.origin();
  return d;
}

void Core::unusable_file(Message* m, FileState fs) {
  if (fs == FileState::kMissing)
    log::error("%s: cannot open queue file; message dropped from the queue", m->id.c_str());
  else
    host_.move_aside(m->id, "size no longer matches its envelope");
  removals_dirty_ = true;
  if (m->in_flight == 0) {
    if (m->has_record) host_.state_erase(m->id);
    drop(m);
    host_.request_commit();
  }
}

bool Core::dispatch_one(Message* m, std::int64_t now) {
  std::vector<std::size_t> by[kTransports];
  for (std::size_t i = 0; i < m->rcpts.size(); ++i) {
    if (m->rcpts[i].state != RcptState::kPending) continue;
    if (!s_.wakeup_address.empty() && common::mail::lower(m->rcpts[i].address) == s_.wakeup_address) {
      Rcpt& r = m->rcpts[i];
      r.state = RcptState::kDone;
      r.status = "2.0.0";
      r.text = "wake-up message, discarded (smtpd released the queues it asked for)";
      common::maillog::delivered(m->id, r.address, "none", static_cast<double>(now - m->arrival), r.text);
      continue;
    }
    auto t = host_.classify(m->rcpts[i].address);
    if (!t) {
      log::error("%s: cannot classify recipients: %s", m->id.c_str(), t.message().c_str());
      for (auto& r : m->rcpts)
        if (r.state == RcptState::kPending) {
          r.status = "4.3.0";
          r.text = "accounts database unavailable";
        }
      end_round(m, now);
      return false;
    }
    by[static_cast<int>(*t)].push_back(i);
  }
  if (by[0].empty() && by[1].empty()) {
    end_round(m, now);
    return false;
  }
  // Each transport goes out as soon as it has an agent with room, so local mail is not
  // held up by a missing remote agent.
  Agent* agent[kTransports] = {nullptr, nullptr};
  std::uint64_t agent_id[kTransports] = {0, 0};
  bool any = false;
  for (int t = 0; t < kTransports; ++t) {
    if (by[t].empty()) continue;
    agent[t] = agent_with_room(static_cast<Transport>(t), &agent_id[t]);
    if (!agent[t]) {
      m->waiting_mask |= static_cast<std::uint8_t>(1u << t);
      waiting_[t].push_back(m->id);
      by[t].clear();
    } else {
      // No longer waiting: should the agent die on it, end_round() must defer rather
      // than re-dispatch at once (the poison-message guard in agent_lost()).
      m->waiting_mask &= static_cast<std::uint8_t>(~(1u << t));
      any = true;
    }
  }
  if (!any) return false;
  for (int t = 0; t < kTransports; ++t) {
    std::vector<std::vector<std::size_t>> batches;
    if (t == static_cast<int>(Transport::kRemote)) {
      std::vector<std::string> addrs;
      addrs.reserve(by[t].size());
      for (auto i : by[t]) addrs.push_back(m->rcpts[i].address);
      batches = remote_batches(addrs, by[t], kMaxRcptsPerDelivery);
    } else {
      batches = local_batches(by[t], kMaxRcptsPerDelivery);
    }
    for (const auto& batch : batches) {
      ipc::Deliver d = new_delivery(*m);
      Inflight inf;
      inf.msg_id = m->id;
      inf.agent_id = agent_id[t];
      for (std::size_t i : batch) {
        d.recipients.push_back(m->rcpts[i].address);
        if (m->rcpts[i].maybe_delivered) d.check_duplicates = true;
        inf.rcpts.push_back(i);
      }
      if (t == static_cast<int>(Transport::kRemote)) {
        auto at = d.recipients.front().rfind('@');
        d.nexthop = d.recipients.front().substr(at + 1);
      }
      // The first delivery of a round checks the file: one damaged behind our back
      // (truncated, replaced) would only fail until the lifetime ends.
      FileState fs = host_.send_delivery(agent_id[t], d, m->in_flight == 0, m->data_offset + m->data_size);
      if (fs != FileState::kOk) {
        unusable_file(m, fs);
        return false;
      }
      for (auto i : inf.rcpts) m->rcpts[i].state = RcptState::kInFlight;
      ++agent[t]->inflight;
      ++m->in_flight;
      inflight_[d.delivery_id] = std::move(inf);
    }
  }
  return true;
}

Status Core::delivered(std::uint64_t agent_id, const ipc::DeliverDone& done, std::int64_t now) {
  auto ait = agents_.find(agent_id);
  if (ait == agents_.end()) return Status::error("verdict from an agent that is not ready");
  auto it = inflight_.find(done.delivery_id);
  if (it == inflight_.end() || it->second.agent_id != agent_id) return Status::error("unknown delivery id");
  if (done.results.size() != it->second.rcpts.size()) return Status::error("wrong number of verdicts");
  if (!done.dsn_passed.empty() && done.dsn_passed.size() != done.results.size())
    return Status::error("wrong number of DSN flags");
  for (const auto& v : done.results)
    if (v.outcome != Outcome::kOk && v.outcome != Outcome::kTemporary && v.outcome != Outcome::kPermanent)
      return Status::error("bad outcome value");
  Inflight inf = std::move(it->second);
  inflight_.erase(it);
  Transport t = ait->second.transport;
  --ait->second.inflight;
  if (Message* m = queue_.find(inf.msg_id)) {
    for (const auto& v : done.results)
      if (v.outcome == Outcome::kTemporary) m->round_deferred = true;
    apply_verdicts(*m, inf.rcpts, done.results, done.dsn_passed);
    if (--m->in_flight == 0) end_round(m, now);
  }
  // The agent has room again: let one waiting message through.
  auto& w = waiting_[static_cast<int>(t)];
  while (!w.empty()) {
    Message* wm = queue_.find(w.front());
    w.pop_front();
    if (wm && !wm->scheduled && wm->in_flight == 0) {
      queue_.make_ready(wm);
      break;
    }
  }
  host_.request_dispatch();
  return Status::ok();
}

void Core::wake(std::int64_t now) {
  auto next = queue_.wake(now);
  if (queue_.ready_count() > 0) host_.request_dispatch();
  if (next) host_.wake_at(*next);
}

}  // namespace qmgr
