// Core, administration and ETRN: mailctl's listing and its flush, delete, hold and
// release, and ETRN (RFC 1985) from smtpd. Both ETRN paths start the deferred messages of
// a domain through the domain index; smtpd's is limited (etrn_limit.hpp), the
// administrator's is not. A listing page stays far below the IPC frame limit whatever
// the queue holds: a message with more recipients than fit is listed with as many as fit
// and the count of the others.
#include <algorithm>

#include "common/log/log.hpp"
#include "common/spool/queue_id.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

namespace log = common::log;
namespace ipc = common::ipc;

namespace {

// Keeps a listing page well below the frame limit (common/ipc/codec.hpp kMaxFrame).
constexpr std::size_t kPageBytes = 96 * 1024;
constexpr std::size_t kMaxText = 300;
constexpr std::size_t kMaxStatus = 32;

bool waiting_rcpt(const Rcpt& r) { return r.state == RcptState::kPending || r.state == RcptState::kInFlight; }

ipc::QueueEntry entry_for(const Message& m, std::size_t budget, std::size_t* used) {
  ipc::QueueEntry e;
  e.id = m.id;
  e.arrival = m.arrival;
  e.size = m.data_size;
  e.sender = m.sender;
  e.hold = m.hold;
  e.next_try = m.next_try;
  e.attempts = m.attempts;
  std::size_t sz = 64 + m.id.size() + m.sender.size();
  for (std::size_t i = 0; i < m.rcpts.size(); ++i) {
    const Rcpt& r = m.rcpts[i];
    std::string text = r.text.substr(0, kMaxText), status = r.status.substr(0, kMaxStatus);
    std::size_t rsz = 32 + r.address.size() + status.size() + text.size();
    if (sz + rsz > budget) {
      e.rcpts_omitted = static_cast<std::uint32_t>(m.rcpts.size() - i);
      break;
    }
    sz += rsz;
    e.rcpts.push_back(ipc::QueueRcptInfo{r.address, static_cast<std::uint8_t>(r.state), status, text});
  }
  *used = sz;
  return e;
}

}  // namespace

ipc::QueueListReply Core::list(const ipc::QueueList& req) const {
  ipc::QueueListReply rep;
  std::size_t bytes = 0;
  // Ids sort by arrival, and the queue keeps them in order: a page is read from `after` on.
  auto add = [&](const Message& m) {
    // The first entry of a page always goes in, cut to the page if it must be.
    std::size_t used = 0;
    ipc::QueueEntry e = entry_for(m, rep.entries.empty() ? kPageBytes : kPageBytes - bytes, &used);
    if (e.rcpts_omitted > 0 && !rep.entries.empty()) {
      rep.more = true;
      return false;
    }
    bytes += used;
    rep.entries.push_back(std::move(e));
    return true;
  };
  if (!req.only.empty()) {
    if (const Message* m = queue_.find(req.only); m && m->id > req.after) add(*m);
    return rep;
  }
  queue_.for_each_after(req.after, add);
  return rep;
}

// Starts delivery of every deferred message with a waiting recipient in `domain` and
// returns how many messages wait for it in all (deferred, ready or in flight; held ones
// excluded), which is what RFC 1985 5's "n pending messages" means to the client. With
// `limited`, a domain released less than the ETRN interval ago is counted, not forced.
std::uint32_t Core::flush_domain(const std::string& domain, bool subdomains, bool limited, std::int64_t now) {
  std::set<std::string> waiting;
  bool started = false;
  for (const auto& [key, ids] : index_.match(domain, subdomains)) {
    bool force = !limited || etrn_limiter_.release_domain(key, now);
    for (const auto& id : *ids) {
      Message* m = queue_.find(id);
      if (!m) continue;
      bool match = std::any_of(m->rcpts.begin(), m->rcpts.end(), [&, k = key](const Rcpt& r) {
        return waiting_rcpt(r) && DomainIndex::reversed(DomainIndex::domain_of(r.address)) == k;
      });
      if (!match) continue;
      if (!m->hold) waiting.insert(id);
      if (force && queue_.flush_one(m)) started = true;
    }
  }
  if (started) host_.request_dispatch();
  return static_cast<std::uint32_t>(waiting.size());
}

std::optional<std::uint32_t> Core::etrn(const std::string& client, const std::string& domain, bool subdomains,
                                        std::int64_t now) {
  if (!etrn_limiter_.allow_client(client, now)) {
    log::warn("ETRN %s%s from %s refused: too many ETRN commands from this client", subdomains ? "@" : "",
              log::printable(domain).c_str(), log::printable(client).c_str());
    return std::nullopt;
  }
  return flush_domain(domain, subdomains, true, now);
}

ipc::QueueCommandReply Core::command(const ipc::QueueCommand& c, std::int64_t now) {
  ipc::QueueCommandReply rep;
  auto find_msg = [&](const std::string& id) -> Message* {
    if (!common::spool::is_queue_id(id)) {
      rep.text = "not a queue id: " + log::printable(id, 40);
      return nullptr;
    }
    Message* m = queue_.find(id);
    if (!m) rep.text = "no message " + id + " in the queue";
    return m;
  };
  if (c.command == "flush") {
    if (c.arg.empty()) {
      rep.count = static_cast<std::uint32_t>(queue_.flush([](const Message&) { return true; }));
    } else {
      Message* m = find_msg(c.arg);
      if (!m) return rep;
      rep.count = queue_.flush_one(m) ? 1 : 0;
    }
    host_.request_dispatch();
    rep.ok = true;
    rep.text = std::to_string(rep.count) + " deferred messages scheduled for delivery now";
    log::info("flush requested: %u messages", rep.count);
    return rep;
  }
  if (c.command == "etrn") {
    std::string d = c.arg;
    bool sub = !d.empty() && d[0] == '@';
    if (sub) d.erase(0, 1);
    if (d.empty()) {
      rep.text = "missing domain";
      return rep;
    }
    rep.count = flush_domain(d, sub, false, now);
    rep.ok = true;
    rep.text = std::to_string(rep.count) + " messages for " + log::printable(c.arg, 80) + " started";
    return rep;
  }
  if (c.command != "delete" && c.command != "hold" && c.command != "release") {
    rep.text = "unknown command '" + log::printable(c.command, 40) + "'";
    return rep;
  }
  Message* m = find_msg(c.arg);
  if (!m) return rep;
  rep.ok = true;
  rep.count = 1;
  if (c.command == "delete") {
    if (m->in_flight > 0) {
      m->doomed = true;
      rep.text = m->id + " will be deleted when its current delivery attempt ends";
      return rep;
    }
    if (auto st = host_.unlink(m->id); !st) {
      rep.ok = false;
      rep.text = "cannot remove queue file: " + st.message();
      return rep;
    }
    if (m->has_record) host_.state_erase(m->id);
    removals_dirty_ = true;
    log::info("%s: deleted by the administrator", m->id.c_str());
    rep.text = m->id + " deleted";
    drop(m);
    host_.request_commit();
    return rep;
  }
  bool hold = c.command == "hold";
  m->hold = hold;
  m->has_record = true;
  host_.state_put(*m);
  host_.request_commit();
  if (!hold && m->in_flight == 0) {
    m->next_try = 0;
    queue_.make_ready(m);
    host_.request_dispatch();
  }
  log::info("%s: %s by the administrator", m->id.c_str(), hold ? "put on hold" : "released");
  rep.text = m->id + (hold ? " is on hold" : " released");
  return rep;
}

}  // namespace qmgr
