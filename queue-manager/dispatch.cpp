// Delivery agents: the daemon's side of private/local and private/remote. It checks each
// agent's uid, tells the Core when one is ready or gone, passes its verdicts on, and
// sends the Core's deliveries with a fresh read-only fd of the queue file, so agents
// never see the queue directory; an ODMR turn goes ahead of its deliveries with the
// client's connection. Which transport a recipient takes is classify().
// UNTRUSTED: agents' frames.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/accounts/address_book.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Result;
using common::Status;
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
  Agent& a = agents_[id];
  a.transport = t;
  a.ch = std::make_unique<ipc::Channel>(
      base_, std::move(sock), ipc::kProtoDeliver, "queue-manager",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd) { on_agent_frame(id, f); },
      [this, id](const Status& why) { on_agent_closed(id, why); });
  // The agent can take deliveries once its Hello is in.
  a.ch->set_on_hello([this, t, id] {
    log::info("%s delivery agent connected", transport_name(t));
    core_.agent_ready(id, t);
  });
}

void Manager::on_agent_closed(std::uint64_t agent_id, const Status& why) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  log::warn("%s delivery agent disconnected: %s", transport_name(it->second.transport),
            why.message().c_str());
  // Every delivery it had in hand is lost (the Core puts them back).
  core_.agent_lost(agent_id, now());
  common::io::run_soon(base_, [this, agent_id] { agents_.erase(agent_id); });
}

void Manager::on_agent_frame(std::uint64_t agent_id, const ipc::FrameView& f) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  Agent& a = it->second;
  auto done = ipc::decode<ipc::DeliverDone>(f);
  Status st = done ? core_.delivered(agent_id, *done, now()) : done.status();
  if (st) return;
  log::warn("%s agent protocol error: %s", transport_name(a.transport), st.message().c_str());
  a.ch->close(st);
  // No more deliveries for it; what it had goes back at once.
  core_.agent_lost(agent_id, now());
}

// Which transport delivers to `address`: local for the domains in the accounts
// database and postmaster@<hostname>, remote for everything else. The address book
// decides, so a recipient goes where smtpd's RCPT check expected it to go; with
// PostgreSQL over the list of domains in memory (local_domains.hpp).
Result<Transport> Manager::classify(const std::string& address) {
  auto t = local_domains_->transport(address);
  if (!t) return t.status();
  return *t == common::accounts::Transport::kLocal ? Transport::kLocal : Transport::kRemote;
}

FileState Manager::send_delivery(std::uint64_t agent_id, const ipc::Deliver& d, bool check_size,
                                 std::uint64_t size) {
  common::io::UniqueFd fd(::openat(pre_.queue_dir.get(), d.queue_id.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return FileState::kMissing;
  struct stat st;
  if (check_size &&
      (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != size))
    return FileState::kDamaged;
  auto it = agents_.find(agent_id);
  // The Core knows only agents that are ready and not lost: the channel is there.
  MB_CHECK(it != agents_.end(), "delivery for an unknown agent");
  it->second.ch->send(d, std::move(fd));
  return FileState::kOk;
}

void Manager::send_turn(std::uint64_t agent_id, const ipc::Turn& t, common::io::UniqueFd conn) {
  auto it = agents_.find(agent_id);
  MB_CHECK(it != agents_.end(), "ODMR turn for an unknown agent");
  it->second.ch->send(t, std::move(conn));
}

}  // namespace qmgr
