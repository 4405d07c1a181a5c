// The TLS key daemon's loop (see server.hpp). UNTRUSTED: frames from smtpd and pop3d,
// which parse the network and may be under a remote attacker's control; each one goes
// through common::tls::check_key_op before the Signer sees it.
#include "common/tlskey/server.hpp"

#include <cerrno>
#include <csignal>

#include "common/ipc/socket.hpp"
#include "common/tls/key_protocol.hpp"

namespace tlskey {

namespace ipc = common::ipc;
namespace log = common::log;
using common::Status;

Server::Server(event_base* base, common::io::UniqueFd listener, common::auth::PeerPolicy policy,
               std::string key_file, Signer signer)
    : base_(base),
      listen_fd_(std::move(listener)),
      policy_(std::move(policy)),
      key_file_(std::move(key_file)),
      signer_(std::move(signer)) {}

Server::~Server() {
  life_.end();
  peers_.clear();
}

Status Server::start() {
  listener_.reset(evconnlistener_new(base_, accept_cb, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                     -1, listen_fd_.get()));
  if (!listener_) return Status::sys("evconnlistener_new (private/tlskey)");
  (void)listen_fd_.release();  // the listener owns it now
  hup_.reset(evsignal_new(base_, SIGHUP, sighup_cb, this));
  if (!hup_ || evsignal_add(hup_.get(), nullptr) != 0) return Status::error("cannot watch SIGHUP");
  return Status::ok();
}

void Server::sighup_cb(evutil_socket_t, short, void* self) noexcept { static_cast<Server*>(self)->reload(); }

void Server::reload() {
  std::string before = signer_.key_id();
  if (Status st = signer_.load(key_file_); !st) {
    log::error(
        "reload: %s; keeping key %s (the key file must be readable by this daemon's user: "
        "chgrp mb-tlskey KEY; chmod 0640 KEY)",
        st.message().c_str(), common::tls::short_id(before).c_str());
    return;
  }
  log::info("reload: %s key %s from %s%s", signer_.describe().c_str(),
            common::tls::short_id(signer_.key_id()).c_str(), key_file_.c_str(),
            signer_.key_id() == before ? " (unchanged)" : "");
}

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Server*>(self)->on_accept(common::io::UniqueFd(fd));
}

void Server::on_accept(common::io::UniqueFd fd) {
  // Who the peer is, from the kernel: a Hello's role is only a claim.
  auto cred = ipc::peer_cred(fd.get());
  if (!cred) {
    log::warn("private/tlskey: cannot read the peer's credentials: %s", cred.message().c_str());
    return;
  }
  std::string who = "uid " + std::to_string(cred->uid) + " pid " + std::to_string(cred->pid);
  if (!common::auth::peer_allowed(policy_, cred->uid)) {
    if (warn_.allow("refused " + std::to_string(cred->uid)))
      log::warn("private/tlskey: refusing %s: not smtpd, pop3d or root", who.c_str());
    return;
  }
  if (peers_.size() >= kMaxPeers) {
    if (warn_.allow("peers"))
      log::warn("private/tlskey: %zu peers connected, refusing %s", peers_.size(), who.c_str());
    return;
  }
  std::uint64_t id = next_peer_++;
  Peer& p = peers_[id];
  p.who = who;
  p.ch = std::make_unique<ipc::Channel>(
      base_, std::move(fd), ipc::kProtoTlsKey, "mailbag-tlskey",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd passed) { on_frame(id, f, passed.valid()); },
      [this, id](const Status& why) {
        auto it = peers_.find(id);
        if (it == peers_.end()) return;
        // A peer that simply went away (a daemon restarting) is not news.
        if (why.message() != "peer closed the connection" && why.err() != EPIPE && why.err() != ECONNRESET)
          log::warn("private/tlskey: %s dropped: %s", it->second.who.c_str(), why.message().c_str());
        common::io::run_soon(base_, [this, id, g = life_.guard()] {
          if (g) peers_.erase(id);
        });
      });
}

void Server::drop_peer(std::uint64_t peer, const std::string& why) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.ch->open()) return;
  it->second.ch->close(Status::error(why, EPROTO));
}

void Server::on_frame(std::uint64_t peer, const ipc::FrameView& f, bool passed_fd) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  // Nothing is passed on this socket: a descriptor means a confused or hostile peer
  // (the descriptor itself is already closed).
  if (passed_fd) return drop_peer(peer, "a file descriptor came with a KeyOp");
  auto req = common::tls::check_key_op(f);
  if (!req) return drop_peer(peer, "bad request: " + req.message());
  if (it->second.ch->queued() >= kMaxUnread) return drop_peer(peer, "too many answers left unread");
  ipc::KeyOpDone done = signer_.answer(*req);
  if (done.result != ipc::KeyOpResult::kOk && warn_.allow("answer " + done.text))
    log::warn("%s: refused a key operation: %s", it->second.who.c_str(), done.text.c_str());
  it->second.ch->send(done);
}

}  // namespace tlskey
