// The authentication daemon's loop (see server.hpp). UNTRUSTED: frames from smtpd and
// pop3d, which parse the network and may be under a remote attacker's control, and from
// the POP3 mailbox process; each one goes through common::auth::check_request or
// check_redeem before anything else sees it.
#include "common/authd/server.hpp"

#include <openssl/crypto.h>

#include <cerrno>
#include <chrono>

#include "common/io/fdio.hpp"
#include "common/ipc/socket.hpp"

namespace authd {

namespace ipc = common::ipc;
namespace log = common::log;
using common::Status;

namespace {

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Server::Server(event_base* base, common::io::UniqueFd listener, common::auth::PeerPolicy policy,
               std::unique_ptr<Verifier> verifier)
    : base_(base),
      listen_fd_(std::move(listener)),
      policy_(std::move(policy)),
      verifier_(std::move(verifier)) {}

Server::~Server() {
  life_.end();
  peers_.clear();
}

Status Server::start() {
  MB_TRY(verifier_->start(base_));
  listener_.reset(evconnlistener_new(base_, accept_cb, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                     -1, listen_fd_.get()));
  if (!listener_) return Status::sys("evconnlistener_new (private/auth)");
  (void)listen_fd_.release();  // the listener owns it now
  return Status::ok();
}

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Server*>(self)->on_accept(common::io::UniqueFd(fd));
}

void Server::on_accept(common::io::UniqueFd fd) {
  // Who the peer is, from the kernel: a Hello's role is only a claim.
  auto cred = ipc::peer_cred(fd.get());
  if (!cred) {
    log::warn("private/auth: cannot read the peer's credentials: %s", cred.message().c_str());
    return;
  }
  std::string who = "uid " + std::to_string(cred->uid) + " pid " + std::to_string(cred->pid);
  if (!common::auth::peer_allowed(policy_, cred->uid) && !common::auth::redeem_allowed(policy_, cred->uid)) {
    if (warn_.allow("refused " + std::to_string(cred->uid)))
      log::warn("private/auth: refusing %s: not smtpd, pop3d, the POP3 mailbox process or root", who.c_str());
    return;
  }
  if (peers_.size() >= kMaxPeers) {
    if (warn_.allow("peers"))
      log::warn("private/auth: %zu peers connected, refusing %s", peers_.size(), who.c_str());
    return;
  }
  std::uint64_t id = next_peer_++;
  Peer& p = peers_[id];
  p.who = who;
  p.uid = cred->uid;
  p.ch = std::make_unique<ipc::Channel>(
      base_, std::move(fd), ipc::kProtoAuth, "mailbag-auth",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd passed) {
        (void)passed;  // nothing is passed on this socket; a stray descriptor is closed
        on_frame(id, f);
      },
      [this, id](const Status& why) {
        auto it = peers_.find(id);
        if (it == peers_.end()) return;
        // A peer that simply went away (a probe, a daemon restarting) is not news.
        if (why.message() != "peer closed the connection" && why.err() != EPIPE && why.err() != ECONNRESET)
          log::warn("private/auth: %s dropped: %s", it->second.who.c_str(), why.message().c_str());
        // Destroy the channel outside its own callback.
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

// Each request type only from the users the policy lists for it: the login processes
// check passwords, the mailbox process redeems tokens, neither does the other's job.
void Server::on_frame(std::uint64_t peer, const ipc::FrameView& f) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kAuthRedeem)) {
    if (!common::auth::redeem_allowed(policy_, it->second.uid))
      return drop_peer(peer, "AuthRedeem from a user that may not redeem login tokens");
    return on_redeem(peer, f);
  }
  if (!common::auth::peer_allowed(policy_, it->second.uid))
    return drop_peer(peer, "a request other than AuthRedeem from the POP3 mailbox process's user");
  on_check(peer, f);
}

void Server::on_check(std::uint64_t peer, const ipc::FrameView& f) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  auto req = common::auth::check_request(f);
  if (!req) return drop_peer(peer, "bad request: " + req.message());
  if (it->second.ch->queued() >= kMaxUnread) return drop_peer(peer, "too many replies left unread");
  std::uint64_t request_id = req->request_id;
  bool pop3 = req->service == common::auth::kServicePop3;
  std::string login = req->login, client = req->client, service = req->service;
  bool queued = verifier_->submit(
      req->login, std::move(req->password),
      [this, peer, request_id, pop3, login, client, service, g = life_.guard()](const Outcome& o) {
        if (!g) return;
        Outcome out = o;
        std::string token;
        if (pop3 && o.result == ipc::AuthResult::kOk)
          token = tokens_.issue(o.account, o.maildir, monotonic());
        if (o.result == ipc::AuthResult::kBadCredentials) {
          std::size_t dropped = 0;
          if (warn_.allow("fail " + service + " " + client, &dropped))
            log::info("%s login failed for %s from %s%s", service.c_str(), log::printable(login, 80).c_str(),
                      client.c_str(),
                      dropped ? (" (" + std::to_string(dropped) + " more not logged)").c_str() : "");
        }
        reply(peer, request_id, out, token);
      });
  OPENSSL_cleanse(req->password.data(), req->password.size());
  if (!queued) {
    if (warn_.allow("queue full"))
      log::warn("%zu password checks already waiting: answering a temporary failure", verifier_->waiting());
    reply(peer, request_id, Outcome{}, "");
  }
}

// Answered at once, on the loop thread (no database, no yescrypt): the token alone says
// whether the password was checked for this account moments ago.
void Server::on_redeem(std::uint64_t peer, const ipc::FrameView& f) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  auto req = common::auth::check_redeem(f);
  if (!req) return drop_peer(peer, "bad redeem request: " + req.message());
  if (it->second.ch->queued() >= kMaxUnread) return drop_peer(peer, "too many replies left unread");
  auto r = tokens_.redeem(req->token, req->account, monotonic());
  OPENSSL_cleanse(req->token.data(), req->token.size());
  ipc::AuthRedeemReply rep;
  rep.request_id = req->request_id;
  rep.result = ipc::AuthResult::kBadCredentials;
  if (r.verdict == LoginTokens::Verdict::kOk) {
    rep.result = ipc::AuthResult::kOk;
    rep.maildir = std::move(r.maildir);
  } else if (warn_.allow("redeem " + it->second.who)) {
    log::warn("private/auth: %s: login token refused for %s: %s", it->second.who.c_str(),
              log::printable(req->account, 80).c_str(), to_string(r.verdict));
  }
  it->second.ch->send(rep);
}

void Server::reply(std::uint64_t peer, std::uint64_t request_id, const Outcome& o, const std::string& token) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.ch->open()) return;  // the asker is gone
  ipc::AuthReply r;
  r.request_id = request_id;
  r.result = o.result;
  if (o.result == ipc::AuthResult::kOk) {
    r.account = o.account;
    r.token = token;
  }
  it->second.ch->send(r);
}

}  // namespace authd
