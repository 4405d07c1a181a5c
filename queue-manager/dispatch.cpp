// Dispatch: hands ready messages to the delivery agents and books their verdicts.
// Agents connect to private/local and private/remote; each connection takes up to
// kMaxInflightPerAgent deliveries at once. A delivery carries a fresh read-only fd of the
// queue file, so agents never see the queue directory. UNTRUSTED: agents' frames.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/address.hpp"
#include "common/spool/fault.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Result;
using common::Status;
using common::mail::Outcome;
namespace log = common::log;
namespace ipc = common::ipc;

void Manager::on_agent_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* ctx) noexcept {
  auto* c = static_cast<ListenerCtx*>(ctx);
  c->self->on_agent_accept(c->t, fd);
}

void Manager::on_agent_accept(Transport t, int fd) {
  common::io::UniqueFd sock(fd);
  long want = pre_.agent_uid[static_cast<int>(t)];
  if (want >= 0) {
    auto cred = ipc::peer_cred(sock.get());
    if (!cred || static_cast<long>(cred->uid) != want) {
      log::warn("refused %s agent connection from uid %ld (want %ld)", transport_name(t),
                cred ? static_cast<long>(cred->uid) : -1L, want);
      return;
    }
  }
  std::uint64_t id = next_conn_id_++;
  auto a = std::make_unique<Agent>();
  a->id = id;
  a->transport = t;
  a->ch = std::make_unique<ipc::Channel>(
      base_, std::move(sock), ipc::kProtoDeliver, "queue-manager",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd) { on_agent_frame(id, f); },
      [this, id](const Status& why) { on_agent_closed(id, why); });
  // The agent can take deliveries once its Hello is in: then the messages that waited
  // for an agent of this kind can go.
  a->ch->set_on_hello([this, t] {
    log::info("%s delivery agent connected", transport_name(t));
    for (auto& mid : waiting_[static_cast<int>(t)])
      if (Message* m = queue_.find(mid); m && !m->scheduled && m->in_flight == 0) queue_.make_ready(m);
    waiting_[static_cast<int>(t)].clear();
    schedule_dispatch();
  });
  agents_[id] = std::move(a);
}

void Manager::on_agent_closed(std::uint64_t agent_id, const Status& why) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  Transport t = it->second->transport;
  log::warn("%s delivery agent disconnected: %s", transport_name(t), why.message().c_str());
  // Every delivery it had in hand is lost; its recipients go back to pending. A message
  // whose agent died twice is deferred like a temporary failure, so that one message
  // that kills the agent cannot keep it in a crash loop.
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
        end_round(m);
      else
        queue_.make_ready(m);
    }
  }
  common::io::run_soon(base_, [this, agent_id] { agents_.erase(agent_id); });
  schedule_dispatch();
}

Manager::Agent* Manager::agent_with_room(Transport t) {
  Agent* best = nullptr;
  for (auto& [id, a] : agents_) {
    if (a->transport != t || !a->ch->open() || !a->ch->hello_done() || a->inflight >= kMaxInflightPerAgent)
      continue;
    if (!best || a->inflight < best->inflight) best = a.get();
  }
  return best;
}

Result<Transport> Manager::classify(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return Status::error("address without domain");
  auto d = accounts_->domain(address.substr(at + 1));
  if (!d) return d.status();
  return *d ? Transport::kLocal : Transport::kRemote;
}

void Manager::schedule_dispatch() {
  if (dispatch_scheduled_) return;
  dispatch_scheduled_ = true;
  event_active(dispatch_ev_.get(), EV_TIMEOUT, 0);
}

void Manager::on_dispatch_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Manager*>(self)->dispatch();
}

void Manager::dispatch() {
  dispatch_scheduled_ = false;
  while (Message* m = queue_.pop_ready()) {
    if (m->hold || m->in_flight > 0) continue;
    if (!dispatch_one(m)) continue;
  }
}

// Sends every pending recipient of `m` to its agent. Returns false if it could not (the
// message then waits for an agent, or has been deferred or completed).
bool Manager::dispatch_one(Message* m) {
  std::vector<std::size_t> by[kTransports];
  for (std::size_t i = 0; i < m->rcpts.size(); ++i) {
    if (m->rcpts[i].state != RcptState::kPending) continue;
    auto t = classify(m->rcpts[i].address);
    if (!t) {
      log::error("%s: cannot classify recipients: %s", m->id.c_str(), t.message().c_str());
      for (auto& r : m->rcpts)
        if (r.state == RcptState::kPending) {
          r.status = "4.3.0";
          r.text = "accounts database unavailable";
        }
      end_round(m);
      return false;
    }
    by[static_cast<int>(*t)].push_back(i);
  }
  if (by[0].empty() && by[1].empty()) {
    end_round(m);
    return false;
  }
  // Each transport goes out as soon as it has an agent with room; recipients of a
  // transport without one wait (not a deferral) and go when the round ends or an agent
  // appears, so local mail is not held up by a missing remote agent.
  Agent* agent[kTransports] = {nullptr, nullptr};
  bool any = false;
  for (int t = 0; t < kTransports; ++t) {
    if (by[t].empty()) continue;
    agent[t] = agent_with_room(static_cast<Transport>(t));
    if (!agent[t]) {
      m->waiting_mask |= static_cast<std::uint8_t>(1u << t);
      waiting_[t].push_back(m->id);
      by[t].clear();
    } else {
      // No longer waiting: should the agent die on it, end_round() must defer rather
      // than re-dispatch at once (the poison-message guard in on_agent_closed()).
      m->waiting_mask &= static_cast<std::uint8_t>(~(1u << t));
      any = true;
    }
  }
  if (!any) return false;
  for (int t = 0; t < kTransports; ++t) {
    for (std::size_t start = 0; start < by[t].size(); start += kMaxRcptsPerDelivery) {
      common::io::UniqueFd fd(::openat(pre_.queue_dir.get(), m->id.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) {
        log::error("%s: cannot open queue file: %s; message dropped from the queue", m->id.c_str(),
                   std::strerror(errno));
        if (m->in_flight == 0) {
          if (m->has_record) state_->stage_erase(m->id);
          queue_.remove(m->id);
          schedule_commit();
        }
        return false;
      }
      struct stat st;
      if (m->in_flight == 0 && (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) ||
                                static_cast<std::uint64_t>(st.st_size) != m->data_offset + m->data_size)) {
        // Damaged behind our back (truncated, replaced): the agents would only fail on it
        // until the lifetime ends. Moved aside, as recovery does at start.
        move_aside(m->id, "size no longer matches its envelope");
        if (m->has_record) state_->stage_erase(m->id);
        queue_.remove(m->id);
        schedule_commit();
        return false;
      }
      ipc::Deliver d;
      d.delivery_id = next_delivery_id_++;
      d.queue_id = m->id;
      d.arrival = m->arrival;
      d.sender = m->sender;
      d.data_offset = m->data_offset;
      d.data_size = m->data_size;
      d.data_lines = m->data_lines;
      d.body_8bit = m->body_8bit;
      d.smtputf8 = m->smtputf8;
      Inflight inf;
      inf.msg_id = m->id;
      inf.agent_id = agent[t]->id;
      std::size_t end = std::min(by[t].size(), start + kMaxRcptsPerDelivery);
      for (std::size_t k = start; k < end; ++k) {
        std::size_t i = by[t][k];
        d.recipients.push_back(m->rcpts[i].address);
        if (m->rcpts[i].maybe_delivered) d.check_duplicates = true;
        m->rcpts[i].state = RcptState::kInFlight;
        inf.rcpts.push_back(i);
      }
      if (t == static_cast<int>(Transport::kRemote)) {
        auto at = d.recipients.front().rfind('@');
        d.nexthop = d.recipients.front().substr(at + 1);
      }
      agent[t]->ch->send(d, std::move(fd));
      ++agent[t]->inflight;
      ++m->in_flight;
      inflight_[d.delivery_id] = std::move(inf);
    }
  }
  return true;
}

void Manager::on_agent_frame(std::uint64_t agent_id, const ipc::FrameView& f) {
  auto ait = agents_.find(agent_id);
  if (ait == agents_.end()) return;
  Agent& a = *ait->second;
  auto done = ipc::decode<ipc::DeliverDone>(f);
  auto fail = [&](const std::string& why) {
    log::warn("%s agent protocol error: %s", transport_name(a.transport), why.c_str());
    a.ch->close(Status::error(why));
  };
  if (!done) return fail(done.message());
  auto it = inflight_.find(done->delivery_id);
  if (it == inflight_.end() || it->second.agent_id != agent_id) return fail("unknown delivery id");
  if (done->results.size() != it->second.rcpts.size()) return fail("wrong number of verdicts");
  for (const auto& v : done->results)
    if (v.outcome != Outcome::kOk && v.outcome != Outcome::kTemporary && v.outcome != Outcome::kPermanent)
      return fail("bad outcome value");
  Inflight inf = std::move(it->second);
  inflight_.erase(it);
  --a.inflight;
  Message* m = queue_.find(inf.msg_id);
  if (m) {
    for (const auto& v : done->results)
      if (v.outcome == Outcome::kTemporary) m->round_deferred = true;
    apply_verdicts(*m, inf.rcpts, done->results);
    if (--m->in_flight == 0) end_round(m);
  }
  // The agent has room again: let waiting messages through.
  auto& w = waiting_[static_cast<int>(a.transport)];
  while (!w.empty()) {
    Message* wm = queue_.find(w.front());
    w.pop_front();
    if (wm && !wm->scheduled && wm->in_flight == 0) {
      queue_.make_ready(wm);
      break;
    }
  }
  schedule_dispatch();
}

// A delivery round is over for `m`: nothing of it is in flight any more.
void Manager::end_round(Message* m) {
  if (m->doomed) {
    // Deleted by the administrator during the attempt: gone, without notices.
    for (auto& rc : m->rcpts)
      if (rc.state == RcptState::kPending) rc.state = RcptState::kDone;
    if (::unlinkat(pre_.queue_dir.get(), m->id.c_str(), 0) < 0 && errno != ENOENT)
      log::error("%s: cannot remove queue file: %s", m->id.c_str(), std::strerror(errno));
    if (m->has_record) state_->stage_erase(m->id);
    removals_dirty_ = true;
    log::info("%s: deleted by the administrator", m->id.c_str());
    queue_.remove(m->id);
    schedule_commit();
    return;
  }
  bool waited = m->waiting_mask != 0, deferred = m->round_deferred;
  m->waiting_mask = 0;
  m->round_deferred = false;
  if (waited && !deferred && !m->finished()) {
    // What is left waited for an agent rather than failed: try again now (it goes
    // back to the waiting list if there is still no agent).
    queue_.make_ready(m);
    schedule_dispatch();
    return;
  }
  RoundEnd r = qmgr::end_round(*m, policy_, now());
  if (r == RoundEnd::kExpired) {
    for (const auto& rc : m->rcpts)
      if (rc.status == "4.4.7")
        common::maillog::bounced(m->id, rc.address, "none", static_cast<double>(now() - m->arrival), rc.text);
  }
  if (r == RoundEnd::kDeferred) {
    m->agent_crashes = 0;
    maybe_warn_delay(m);
    m->has_record = true;
    state_->stage_put(*m);
    queue_.defer(m);
    arm_wakeup();
    schedule_commit();
    return;
  }
  complete(m);
}

// Every recipient is done or failed: the message leaves the queue.
void Manager::complete(Message* m) {
  // The notice is linked before the original goes; one sync covers both.
  notify_failures(m);
  common::spool::fault::hit("qmgr.before_remove");
  if (m->has_record) {
    // The record goes after the file: a crash in between leaves a record without a file,
    // which recovery discards; the other order could re-deliver to everyone.
    if (::unlinkat(pre_.queue_dir.get(), m->id.c_str(), 0) < 0 && errno != ENOENT)
      log::error("%s: cannot remove queue file: %s", m->id.c_str(), std::strerror(errno));
    state_->stage_erase(m->id);
    removals_dirty_ = true;
  } else {
    remover_->remove(m->id);
  }
  common::maillog::removed(m->id);
  queue_.remove(m->id);
  schedule_commit();
}

void Manager::arm_wakeup() {
  auto next = queue_.wake(now());
  if (queue_.ready_count() > 0) schedule_dispatch();
  if (!next) return;
  if (wakeup_at_ != 0 && wakeup_at_ <= *next && event_pending(wakeup_ev_.get(), EV_TIMEOUT, nullptr)) return;
  wakeup_at_ = *next;
  timeval tv{static_cast<time_t>(*next - now()), 0};
  if (tv.tv_sec < 0) tv.tv_sec = 0;
  event_add(wakeup_ev_.get(), &tv);
}

void Manager::on_wakeup_cb(evutil_socket_t, short, void* self) noexcept {
  auto* me = static_cast<Manager*>(self);
  me->wakeup_at_ = 0;
  me->arm_wakeup();
}

}  // namespace qmgr
