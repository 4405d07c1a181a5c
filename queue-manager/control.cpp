// Administration and ETRN. mailctl connects to private/control (mode 0600: root only in
// production) to list the queue page by page and to flush, delete, hold and release
// messages. smtpd forwards ETRN (RFC 1985) over its submit connection once its policy
// allowed it; both end in the same flush of a domain's deferred messages.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/spool/queue_id.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Status;
namespace log = common::log;
namespace ipc = common::ipc;
using common::mail::lower;

namespace {

// Keeps a listing page well below the frame limit.
constexpr std::size_t kPageBytes = 96 * 1024;

bool domain_matches(const std::string& address, const std::string& domain, bool subdomains) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return false;
  std::string d = lower(address.substr(at + 1));
  if (d == domain) return true;
  return subdomains && d.size() > domain.size() &&
         d.compare(d.size() - domain.size(), domain.size(), domain) == 0 &&
         d[d.size() - domain.size() - 1] == '.';
}

}  // namespace

void Manager::on_control_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Manager*>(self)->on_control_accept(fd);
}

void Manager::on_control_accept(int fd) {
  std::uint64_t id = next_conn_id_++;
  control_conns_[id] = std::make_unique<ipc::Channel>(
      base_, common::io::UniqueFd(fd), ipc::kProtoControl, "queue-manager",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd) { on_control_frame(id, f); },
      [this, id](const Status&) { common::io::run_soon(base_, [this, id] { control_conns_.erase(id); }); });
}

void Manager::on_control_frame(std::uint64_t conn_id, const ipc::FrameView& f) {
  auto it = control_conns_.find(conn_id);
  if (it == control_conns_.end()) return;
  ipc::Channel& ch = *it->second;
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kQueueList)) {
    auto req = ipc::decode<ipc::QueueList>(f);
    if (!req) return ch.close(req.status());
    // Ids sort by arrival; collect in id order after `after`.
    std::vector<const Message*> all;
    queue_.for_each([&](const Message& m) {
      if ((req->only.empty() || m.id == req->only) && m.id > req->after) all.push_back(&m);
    });
    std::sort(all.begin(), all.end(), [](const Message* a, const Message* b) { return a->id < b->id; });
    ipc::QueueListReply rep;
    std::size_t bytes = 0;
    for (const Message* m : all) {
      ipc::QueueEntry e;
      e.id = m->id;
      e.arrival = m->arrival;
      e.size = m->data_size;
      e.sender = m->sender;
      e.hold = m->hold;
      e.next_try = m->next_try;
      e.attempts = m->attempts;
      std::size_t sz = 64 + m->id.size() + m->sender.size();
      for (const auto& r : m->rcpts) {
        std::string text = r.text.size() > 300 ? r.text.substr(0, 300) : r.text;
        sz += 32 + r.address.size() + text.size();
        e.rcpts.push_back(ipc::QueueRcptInfo{r.address, static_cast<std::uint8_t>(r.state), r.status, text});
      }
      if (bytes + sz > kPageBytes && !rep.entries.empty()) {
        rep.more = true;
        break;
      }
      bytes += sz;
      rep.entries.push_back(std::move(e));
    }
    ch.send(rep);
    return;
  }
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kQueueCommand)) {
    auto req = ipc::decode<ipc::QueueCommand>(f);
    if (!req) return ch.close(req.status());
    ch.send(run_command(*req));
    return;
  }
  ch.close(Status::error("unexpected message on control socket"));
}

// Starts delivery of every deferred message with a recipient in `domain` and returns how
// many messages wait for it in all (deferred, ready or in flight; held ones excluded),
// which is what RFC 1985 5's "n pending messages" means to the client.
std::uint32_t Manager::flush_domain(std::string domain, bool subdomains) {
  domain = lower(domain);
  auto match = [&](const Message& m) {
    for (const auto& r : m.rcpts)
      if ((r.state == RcptState::kPending || r.state == RcptState::kInFlight) &&
          domain_matches(r.address, domain, subdomains))
        return true;
    return false;
  };
  if (queue_.flush(match)) schedule_dispatch();
  std::uint32_t n = 0;
  queue_.for_each([&](const Message& m) {
    if (!m.hold && match(m)) ++n;
  });
  return n;
}

void Manager::on_etrn(std::uint64_t conn_id, const ipc::Etrn& e) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end()) return;
  ipc::EtrnDone d;
  d.request_id = e.request_id;
  d.ok = true;
  d.messages = flush_domain(e.domain, e.subdomains);
  log::info("ETRN %s%s: %u messages started", e.subdomains ? "@" : "", log::printable(e.domain).c_str(),
            d.messages);
  it->second->ch->send(d);
}

ipc::QueueCommandReply Manager::run_command(const ipc::QueueCommand& c) {
  ipc::QueueCommandReply rep;
  auto find = [&](const std::string& id) -> Message* {
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
      Message* m = find(c.arg);
      if (!m) return rep;
      rep.count = static_cast<std::uint32_t>(queue_.flush([&](const Message& x) { return &x == m; }));
    }
    schedule_dispatch();
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
    rep.count = flush_domain(d, sub);
    rep.ok = true;
    rep.text = std::to_string(rep.count) + " messages for " + log::printable(c.arg, 80) + " started";
    return rep;
  }
  if (c.command == "delete" || c.command == "hold" || c.command == "release") {
    Message* m = find(c.arg);
    if (!m) return rep;
    rep.ok = true;
    rep.count = 1;
    if (c.command == "delete") {
      if (m->in_flight > 0) {
        m->doomed = true;
        rep.text = m->id + " will be deleted when its current delivery attempt ends";
        return rep;
      }
      if (::unlinkat(pre_.queue_dir.get(), m->id.c_str(), 0) < 0 && errno != ENOENT) {
        rep.ok = false;
        rep.text = std::string("cannot remove queue file: ") + std::strerror(errno);
        return rep;
      }
      if (m->has_record) state_->stage_erase(m->id);
      removals_dirty_ = true;
      log::info("%s: deleted by the administrator", m->id.c_str());
      rep.text = m->id + " deleted";
      queue_.remove(m->id);
      schedule_commit();
      return rep;
    }
    bool hold = c.command == "hold";
    m->hold = hold;
    m->has_record = true;
    state_->stage_put(*m);
    schedule_commit();
    if (!hold && m->in_flight == 0) {
      m->next_try = 0;
      queue_.make_ready(m);
      schedule_dispatch();
    }
    log::info("%s: %s by the administrator", m->id.c_str(), hold ? "put on hold" : "released");
    rep.text = m->id + (hold ? " is on hold" : " released");
    return rep;
  }
  rep.text = "unknown command '" + log::printable(c.command, 40) + "'";
  return rep;
}

}  // namespace qmgr
