// The POP3 mailbox process's loop (see server.hpp). UNTRUSTED: frames and descriptors
// from pop3d, which parses the network and may be under a remote attacker's control;
// each frame goes through check_handover, each descriptor is checked to be a stream
// socket, and nothing opens a Maildir before the authentication daemon redeemed the
// login token for that account.
#include "pop3d/mailbox/server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include "common/check.hpp"
#include "common/io/fdio.hpp"
#include "common/ipc/socket.hpp"
#include "common/spool/layout.hpp"
#include "pop3d/connection.hpp"

namespace pop3d::mailbox {

namespace io = common::io;
namespace ipc = common::ipc;
namespace log = common::log;
using common::Status;

namespace {

constexpr std::size_t kChunk = 64 * 1024;

// A client connection is a stream socket: TCP from pop3d's listener, or a socketpair end
// for a relayed TLS session. Anything else (a file, a pipe, a datagram socket) is a
// peer's mistake or an attack.
bool is_stream_socket(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

}  // namespace

Server::Server(const common::config::Config& cfg, event_base* base, io::UniqueFd listener,
               HandoverPolicy policy)
    : cfg_(cfg),
      base_(base),
      listen_fd_(std::move(listener)),
      policy_(std::move(policy)),
      auth_(base, common::spool::Layout(cfg).auth_socket(), "pop3", "pop3-mailbox"),
      disk_(kDiskThreads, io::WorkQueue::kUnbounded),
      read_buf_(kChunk, '\0') {}

// Connections first: they call back into the server while they go.
Server::~Server() {
  life_.end();
  conns_.clear();
  peers_.clear();
}

Status Server::start() {
  MB_TRY(disk_.start(base_));
  auth_.start();
  listener_.reset(evconnlistener_new(base_, accept_cb, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                     -1, listen_fd_.get()));
  if (!listener_) return Status::sys("evconnlistener_new (private/pop3-mailbox)");
  (void)listen_fd_.release();
  return Status::ok();
}

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Server*>(self)->on_accept(io::UniqueFd(fd));
}

void Server::on_accept(io::UniqueFd fd) {
  auto cred = ipc::peer_cred(fd.get());
  if (!cred) {
    log::warn("private/pop3-mailbox: cannot read the peer's credentials: %s", cred.message().c_str());
    return;
  }
  std::string who = "uid " + std::to_string(cred->uid) + " pid " + std::to_string(cred->pid);
  if (!handover_allowed(policy_, cred->uid)) {
    if (warn_.allow("refused " + std::to_string(cred->uid)))
      log::warn("private/pop3-mailbox: refusing %s: not pop3d or root", who.c_str());
    return;
  }
  if (peers_.size() >= kMaxPeers) {
    if (warn_.allow("peers")) log::warn("private/pop3-mailbox: too many peers, refusing %s", who.c_str());
    return;
  }
  std::uint64_t id = next_peer_++;
  Peer& p = peers_[id];
  p.who = who;
  p.ch = std::make_unique<ipc::Channel>(
      base_, std::move(fd), ipc::kProtoPop3Mailbox, "pop3-mailbox",
      [this, id](const ipc::FrameView& f, io::UniqueFd passed) { on_frame(id, f, std::move(passed)); },
      [this, id](const Status& why) {
        auto it = peers_.find(id);
        if (it == peers_.end()) return;
        if (why.message() != "peer closed the connection" && why.err() != EPIPE && why.err() != ECONNRESET)
          log::warn("private/pop3-mailbox: %s dropped: %s", it->second.who.c_str(), why.message().c_str());
        io::run_soon(base_, [this, id, g = life_.guard()] {
          if (g) peers_.erase(id);
        });
      });
}

void Server::drop_peer(std::uint64_t peer, const std::string& why) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.ch->open()) return;
  it->second.ch->close(Status::error(why, EPROTO));
}

void Server::on_frame(std::uint64_t peer, const ipc::FrameView& f, io::UniqueFd fd) {
  auto h = check_handover(f, static_cast<bool>(fd));
  if (!h) return drop_peer(peer, "bad handover: " + h.message());
  if (!is_stream_socket(fd.get()))
    return drop_peer(peer, "bad handover: the descriptor is not a stream socket");
  auto p = std::make_shared<Pending>();
  p->peer = peer;
  p->h = std::move(*h);
  p->fd = std::move(fd);
  if (conns_.size() + in_flight_ >= static_cast<std::size_t>(cfg_.pop3d_max_sessions)) {
    if (warn_.allow("max_sessions")) log::warn("too many sessions, refusing %s", p->h.account.c_str());
    p->fd.reset();
    return answer(*p, ipc::HandoverResult::kTempFail);
  }
  ++in_flight_;
  std::string token = std::move(p->h.token);
  std::uint64_t asked = auth_.redeem(p->h.account, std::move(token),
                                     [this, p, g = life_.guard()](const common::auth::Verdict& v) {
                                       if (g) redeemed(p, v);
                                     });
  if (asked == 0) {
    if (warn_.allow("auth down"))
      log::warn("cannot redeem a login token: the authentication daemon is not reachable");
    --in_flight_;
    p->fd.reset();
    answer(*p, ipc::HandoverResult::kTempFail);
  }
}

void Server::redeemed(std::shared_ptr<Pending> p, const common::auth::Verdict& v) {
  if (v.result != common::ipc::AuthResult::kOk) {
    --in_flight_;
    p->fd.reset();  // closed before the answer: pop3d then speaks to the client alone
    bool refused = v.result == common::ipc::AuthResult::kBadCredentials;
    if (refused)
      log::warn("handover for %s from %s refused: the authentication daemon did not redeem its login token",
                log::printable(p->h.account, 80).c_str(), p->h.client.c_str());
    else if (warn_.allow("redeem temp"))
      log::warn("cannot redeem a login token for %s: %s", p->h.account.c_str(), v.why.c_str());
    return answer(*p, refused ? ipc::HandoverResult::kRefused : ipc::HandoverResult::kTempFail);
  }
  std::string path = v.maildir;
  struct Opened {
    std::optional<common::Result<std::unique_ptr<Maildrop>>> drop;
    Maildrop::OpenError why = Maildrop::OpenError::kFailed;
  };
  auto r = std::make_shared<Opened>();
  bool queued = disk_.submit([r, path] { r->drop.emplace(Maildrop::open(path, &r->why)); },
                             [this, r, p, g = life_.guard()] {
                               if (g) opened(p, std::move(*r->drop), r->why);
                             });
  MB_CHECK(queued, "the disk queue is unbounded");
}

void Server::opened(std::shared_ptr<Pending> p, common::Result<std::unique_ptr<Maildrop>> drop,
                    Maildrop::OpenError why) {
  --in_flight_;
  auto peer = peers_.find(p->peer);
  bool peer_open = peer != peers_.end() && peer->second.ch->open();
  if (!drop || !peer_open) {
    // Without its peer, pop3d has given up on this client (it closes it): no session.
    if (!drop && why != Maildrop::OpenError::kInUse)
      log::error("%s: cannot open maildrop: %s", p->h.account.c_str(), drop.message().c_str());
    p->fd.reset();
    return answer(*p, why == Maildrop::OpenError::kInUse ? ipc::HandoverResult::kInUse
                                                         : ipc::HandoverResult::kTempFail);
  }
  Status nb = io::set_nonblocking(p->fd.get());
  if (!nb) {
    p->fd.reset();
    return answer(*p, ipc::HandoverResult::kTempFail);
  }
  std::uint64_t id = next_id_++;
  auto conn = std::make_unique<Connection>(*this, id, std::move(p->fd), p->h.client, false);
  Connection* c = conn.get();
  conns_.emplace(id, std::move(conn));
  sessions_[id] = Session{p->peer, p->h.request_id};
  // The answer first: pop3d lets go of the client before this session writes to it.
  answer(*p, ipc::HandoverResult::kOk);
  if (!c->resume(p->h.account, std::move(*drop), p->h.input, p->h.tls)) {
    log::error("cannot set up a session for %s", p->h.client.c_str());
    release(id);
  }
}

void Server::answer(const Pending& p, ipc::HandoverResult r) {
  auto it = peers_.find(p.peer);
  if (it == peers_.end() || !it->second.ch->open()) return;
  ipc::Pop3HandoverDone d;
  d.request_id = p.h.request_id;
  d.result = r;
  it->second.ch->send(d);
}

Connection* Server::find(std::uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

// The session ended: pop3d hears of it (its session limits count the client until then).
void Server::release(std::uint64_t id) {
  auto s = sessions_.find(id);
  if (s != sessions_.end()) {
    auto peer = peers_.find(s->second.peer);
    if (peer != peers_.end() && peer->second.ch->open()) {
      ipc::Pop3SessionEnded e;
      e.request_id = s->second.request_id;
      peer->second.ch->send(e);
    }
    sessions_.erase(s);
  }
  io::run_soon(base_, [this, id, g = life_.guard()] {
    if (g) conns_.erase(id);
  });
}

void Server::authenticate(std::uint64_t conn_id, const std::string&, const std::string&) {
  io::run_soon(base_, [this, conn_id, g = life_.guard()] {
    if (!g) return;
    AuthResult r;
    r.kind = AuthResult::Kind::kTempFail;
    if (Connection* c = find(conn_id)) c->auth_done(r, 0);
  });
}

void Server::hand_over(std::uint64_t conn_id, HandoverRequest) {
  io::run_soon(base_, [this, conn_id, g = life_.guard()] {
    if (!g) return;
    if (Connection* c = find(conn_id)) c->handover_done(ipc::HandoverResult::kTempFail, false);
  });
}

}  // namespace pop3d::mailbox
