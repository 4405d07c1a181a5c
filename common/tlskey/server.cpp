// The TLS key daemon's loop (see server.hpp). UNTRUSTED: frames from smtpd and pop3d,
// which parse the network and may be under a remote attacker's control; each one goes
// through common::tls::check_key_op before the Signer sees it.
#include "common/tlskey/server.hpp"

#include <csignal>

#include "common/tls/key_protocol.hpp"

namespace tlskey {

namespace ipc = common::ipc;
namespace log = common::log;
using common::Status;

Server::Server(event_base* base, common::io::UniqueFd listener, common::auth::PeerPolicy policy,
               std::string key_file, Signer signer)
    : base_(base),
      key_file_(std::move(key_file)),
      signer_(std::move(signer)),
      peers_(base, std::move(listener),
             {"private/tlskey", ipc::kProtoTlsKey, "mailbag-tlskey", kMaxPeers,
              [policy](uid_t uid) { return common::auth::peer_allowed(policy, uid); },
              "not smtpd, pop3d or root"},
             [this](std::uint64_t peer, const ipc::FrameView& f, common::io::UniqueFd passed) {
               on_frame(peer, f, passed.valid());
             }) {}

Status Server::start() { return peers_.start(); }

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

void Server::on_frame(std::uint64_t peer, const ipc::FrameView& f, bool passed_fd) {
  ipc::PeerServer::Peer* p = peers_.find(peer);
  if (!p) return;
  // Nothing is passed on this socket: a descriptor means a confused or hostile peer
  // (the descriptor itself is already closed).
  if (passed_fd) return peers_.drop(peer, "a file descriptor came with a KeyOp");
  auto req = common::tls::check_key_op(f);
  if (!req) return peers_.drop(peer, "bad request: " + req.message());
  if (p->ch->queued() >= kMaxUnread) return peers_.drop(peer, "too many answers left unread");
  ipc::KeyOpDone done = signer_.answer(*req);
  if (done.result != ipc::KeyOpResult::kOk && warn_.allow("answer " + done.text))
    log::warn("%s: refused a key operation: %s", p->who.c_str(), done.text.c_str());
  p->ch->send(done);
}

}  // namespace tlskey
