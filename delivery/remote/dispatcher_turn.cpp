// The remote agent's side of On-Demand Mail Relay (RFC 2645): the queue manager hands
// over (ipc::Turn) a connection whose roles have turned, the one smtpd relays from an
// ODMR client that sent ATRN, and then the deliveries for it. They all go over that one
// connection, as the SMTP client (RFC 2645 5.3: the client greets, we EHLO); never over
// another route, never to a fallback relay. When the deliveries named by the Turn are
// done (or none comes for a few seconds), QUIT ends the session, and smtpd closes the
// client's connection.
#include "common/log/log.hpp"
#include "delivery/remote/dispatcher.hpp"

namespace delivery::remote {

namespace log = common::log;
using common::mail::Outcome;
using common::mail::Verdict;

void Dispatcher::turn(common::ipc::Turn t, common::io::UniqueFd fd, std::uint64_t generation) {
  std::string key = "odmr " + std::to_string(t.turn_id) + " " + log::printable(t.peer, 120);
  if (!fd || !link_.current(generation) || dests_.count(key)) {
    log::warn("ODMR turn %llu for %s: no connection passed, or a stale one; ignored",
              static_cast<unsigned long long>(t.turn_id), log::printable(t.peer, 120).c_str());
    return;
  }
  auto dest = std::make_unique<Destination>();
  Destination& d = *dest;
  d.key = key;
  d.turn = true;
  d.turn_left = t.delivery_ids.size();
  d.target.name = t.peer;
  d.target.mx_lookup = false;
  dests_[key] = std::move(dest);
  for (auto id : t.delivery_ids) turn_of_[id] = key;

  auto slot = std::make_unique<Slot>();
  Slot* s = slot.get();
  s->dest = &d;
  d.slots.push_back(std::move(slot));
  common::smtp::SessionOptions o;
  o.helo_name = settings_.helo_name;
  // smtpd keeps the TLS session with the client; the relayed bytes are already protected.
  o.tls = common::smtp::TlsPolicy::kNone;
  Endpoint ep;
  ep.host = "odmr";
  s->conn = std::make_unique<Connection>(base_, *this, settings_.timeout, settings_.connect_timeout(), tls_,
                                         std::vector<Endpoint>{ep}, o);
  slot_of_[s->conn.get()] = s;
  log::info("ODMR turn %llu: %zu deliveries for %s over the client's connection",
            static_cast<unsigned long long>(t.turn_id), t.delivery_ids.size(),
            log::printable(t.peer, 120).c_str());
  s->conn->adopt(std::move(fd), "ODMR client " + log::printable(t.peer, 120));
}

bool Dispatcher::route_turn(Job& j) {
  auto it = turn_of_.find(j.msg.delivery_id);
  if (it == turn_of_.end()) return false;
  std::string key = it->second;
  turn_of_.erase(it);
  std::uint64_t id = j.id;
  auto dit = dests_.find(key);
  j.open_tasks = 1;
  if (dit == dests_.end() || !dit->second->turn || dit->second->slots.empty()) {
    // The connection is gone already: the mail waits for the next ATRN.
    for (std::size_t i = 0; i < j.msg.recipients.size(); ++i)
      record(j, i, Verdict{Outcome::kTemporary, "4.4.2", "the ODMR connection closed before delivery"},
             "none");
    task_done(id);
    return true;
  }
  Destination& d = *dit->second;
  Task t{id, {}, -1, {}};
  for (std::size_t i = 0; i < j.msg.recipients.size(); ++i) t.rcpts.push_back(i);
  d.queue.push_back(std::move(t));
  kick(d);
  return true;
}

// The turn's one connection takes the next task when it is free; without it, what waits
// fails for now.
void Dispatcher::kick_turn(Destination& d) {
  Slot* s = nullptr;
  for (auto& x : d.slots)
    if (!x->dead) s = x.get();
  if (!s) {
    while (!d.queue.empty()) {
      Task t = std::move(d.queue.front());
      d.queue.pop_front();
      fail_task(d, t, Verdict{Outcome::kTemporary, "4.4.2", "the ODMR connection closed before delivery"},
                "none");
    }
    return;
  }
  if (d.queue.empty() || s->opening || s->has_task || !s->conn || !s->conn->ready()) return;
  Task t = std::move(d.queue.front());
  d.queue.pop_front();
  assign(s, std::move(t));
}

// The turn's connection is free: the next task, QUIT when its deliveries are done, or a
// short wait for those still on their way (the DKIM signer, for one).
bool Dispatcher::turn_ready(Slot* s) {
  Destination& d = *s->dest;
  if (!d.queue.empty()) {
    Task t = std::move(d.queue.front());
    d.queue.pop_front();
    assign(s, std::move(t));
  } else if (d.turn_left == 0) {
    s->conn->quit();
  } else {
    go_idle(s);
  }
  return true;
}

}  // namespace delivery::remote
