// A daemon's private socket and its peers (see peer_server.hpp).
#include "common/ipc/peer_server.hpp"

#include <cerrno>

#include "common/ipc/socket.hpp"

namespace common::ipc {

PeerServer::PeerServer(event_base* base, io::UniqueFd listener, Options options, OnFrame on_frame)
    : base_(base),
      listen_fd_(std::move(listener)),
      opt_(std::move(options)),
      on_frame_(std::move(on_frame)) {}

PeerServer::~PeerServer() {
  life_.end();
  peers_.clear();
}

Status PeerServer::start() {
  listener_.reset(evconnlistener_new(base_, accept_cb, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                     -1, listen_fd_.get()));
  if (!listener_) return Status::sys("evconnlistener_new (" + opt_.name + ")");
  (void)listen_fd_.release();  // the listener owns it now
  return Status::ok();
}

void PeerServer::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<PeerServer*>(self)->on_accept(io::UniqueFd(fd));
}

void PeerServer::on_accept(io::UniqueFd fd) {
  auto cred = peer_cred(fd.get());
  if (!cred) {
    log::warn("%s: cannot read the peer's credentials: %s", opt_.name.c_str(), cred.message().c_str());
    return;
  }
  std::string who = "uid " + std::to_string(cred->uid) + " pid " + std::to_string(cred->pid);
  if (!opt_.allowed(cred->uid)) {
    if (warn_.allow("refused " + std::to_string(cred->uid)))
      log::warn("%s: refusing %s: %s", opt_.name.c_str(), who.c_str(), opt_.refused.c_str());
    return;
  }
  if (peers_.size() >= opt_.max_peers) {
    if (warn_.allow("peers"))
      log::warn("%s: %zu peers connected, refusing %s", opt_.name.c_str(), peers_.size(), who.c_str());
    return;
  }
  std::uint64_t id = next_peer_++;
  Peer& p = peers_[id];
  p.who = who;
  p.uid = cred->uid;
  p.ch = std::make_unique<Channel>(
      base_, std::move(fd), opt_.protocol, opt_.role,
      [this, id](const FrameView& f, io::UniqueFd passed) { on_frame_(id, f, std::move(passed)); },
      [this, id](const Status& why) {
        auto it = peers_.find(id);
        if (it == peers_.end()) return;
        // A peer that simply went away (a probe, a daemon restarting) is not news.
        if (why.message() != "peer closed the connection" && why.err() != EPIPE && why.err() != ECONNRESET)
          log::warn("%s: %s dropped: %s", opt_.name.c_str(), it->second.who.c_str(), why.message().c_str());
        // Destroy the channel outside its own callback.
        io::run_soon(base_, [this, id, g = life_.guard()] {
          if (g) peers_.erase(id);
        });
      });
}

PeerServer::Peer* PeerServer::find(std::uint64_t peer) {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

void PeerServer::drop(std::uint64_t peer, const std::string& why) {
  Peer* p = find(peer);
  if (!p || !p->ch->open()) return;
  p->ch->close(Status::error(why, EPROTO));
}

}  // namespace common::ipc
