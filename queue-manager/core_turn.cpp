// Core, ODMR (RFC 2645): an ATRN that smtpd allowed hands the recipients waiting for the
// client's domains to one remote agent together with the client's connection, over which
// the agent delivers them as the SMTP client once the roles have turned (RFC 2645 5.3).
// The messages are found through the domain index like ETRN's; what goes is booked in
// flight exactly like a dispatch, so the verdicts, a lost agent and the retry schedule
// work as for any delivery. Held messages, and messages already in flight, stay.
#include <algorithm>
#include <set>

#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

namespace log = common::log;
namespace ipc = common::ipc;

std::optional<std::uint32_t> Core::turn(const std::vector<std::string>& domains, const std::string& peer,
                                        common::io::UniqueFd conn) {
  std::set<std::string> keys;
  for (const auto& d : domains) keys.insert(DomainIndex::reversed(common::mail::lower(d)));
  // The messages, oldest id first, and for each the recipients that go.
  std::vector<std::pair<Message*, std::vector<std::size_t>>> picks;
  std::set<std::string> seen;
  for (const auto& d : domains) {
    for (const auto& [key, ids] : index_.match(common::mail::lower(d), false)) {
      for (const auto& id : *ids) {
        if (!seen.insert(id).second) continue;
        Message* m = queue_.find(id);
        if (!m || m->hold || m->doomed || m->in_flight > 0) continue;
        std::vector<std::size_t> rcpts;
        for (std::size_t i = 0; i < m->rcpts.size(); ++i) {
          const Rcpt& r = m->rcpts[i];
          if (r.state != RcptState::kPending ||
              !keys.count(DomainIndex::reversed(DomainIndex::domain_of(r.address))))
            continue;
          auto t = host_.classify(r.address);
          if (t && *t == Transport::kRemote) rcpts.push_back(i);
        }
        if (!rcpts.empty()) picks.emplace_back(m, std::move(rcpts));
      }
    }
  }
  if (picks.empty()) return 0u;
  std::sort(picks.begin(), picks.end(),
            [](const auto& a, const auto& b) { return a.first->id < b.first->id; });
  if (picks.size() > kMaxTurnMessages) picks.resize(kMaxTurnMessages);
  // One agent carries the whole connection; the least busy, whatever its room.
  std::uint64_t agent_id = 0;
  Agent* agent = nullptr;
  for (auto& [aid, a] : agents_)
    if (a.transport == Transport::kRemote && (!agent || a.inflight < agent->inflight)) {
      agent = &a;
      agent_id = aid;
    }
  if (!agent) return std::nullopt;

  // The requests, each id known before the Turn that names them goes out.
  struct Planned {
    Message* m;
    ipc::Deliver d;
    std::vector<std::size_t> rcpts;
  };
  std::vector<Planned> plan;
  ipc::Turn t;
  t.turn_id = next_turn_id_++;
  t.peer = peer;
  for (auto& [m, rcpts] : picks) {
    for (std::size_t start = 0; start < rcpts.size(); start += kMaxRcptsPerDelivery) {
      Planned p{m, new_delivery(*m), {}};
      ipc::Deliver& d = p.d;
      std::size_t end = std::min(rcpts.size(), start + kMaxRcptsPerDelivery);
      for (std::size_t k = start; k < end; ++k) {
        d.recipients.push_back(m->rcpts[rcpts[k]].address);
        if (m->rcpts[rcpts[k]].maybe_delivered) d.check_duplicates = true;
        p.rcpts.push_back(rcpts[k]);
      }
      d.nexthop = DomainIndex::domain_of(d.recipients.front());
      t.delivery_ids.push_back(d.delivery_id);
      plan.push_back(std::move(p));
    }
  }
  host_.send_turn(agent_id, t, std::move(conn));
  std::set<std::string> sent;
  for (auto& p : plan) {
    Message* m = queue_.find(p.d.queue_id);
    if (!m) continue;  // dropped below as damaged
    FileState fs = host_.send_delivery(agent_id, p.d, m->in_flight == 0, m->data_offset + m->data_size);
    if (fs != FileState::kOk) {
      unusable_file(m, fs);
      continue;
    }
    Inflight inf;
    inf.msg_id = m->id;
    inf.agent_id = agent_id;
    inf.rcpts = p.rcpts;
    for (auto i : p.rcpts) m->rcpts[i].state = RcptState::kInFlight;
    ++agent->inflight;
    ++m->in_flight;
    inflight_[p.d.delivery_id] = std::move(inf);
    sent.insert(m->id);
  }
  log::info("ATRN for %s: %zu messages handed to the remote agent (turn %llu)", log::printable(peer).c_str(),
            sent.size(), static_cast<unsigned long long>(t.turn_id));
  return static_cast<std::uint32_t>(sent.size());
}

}  // namespace qmgr
