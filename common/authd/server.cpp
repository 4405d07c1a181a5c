// The authentication daemon's loop (see server.hpp). UNTRUSTED: frames from smtpd and
// pop3d, which parse the network and may be under a remote attacker's control, and from
// the POP3 mailbox process; each one goes through common::auth::check_request or
// check_redeem before anything else sees it.
#include "common/authd/server.hpp"

#include <openssl/crypto.h>

#include <cerrno>
#include <chrono>
#include <ctime>

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
               std::unique_ptr<Verifier> verifier, ImapGate::Settings imap)
    : base_(base),
      policy_(std::move(policy)),
      verifier_(std::move(verifier)),
      imap_(std::move(imap)),
      peers_(base, std::move(listener),
             {"private/auth", ipc::kProtoAuth, "mailbag-auth", kMaxPeers,
              [this](uid_t uid) { return common::auth::connect_allowed(policy_, uid); },
              "not smtpd, pop3d, the POP3 mailbox process, the IMAP passdb program or root"},
             [this](std::uint64_t peer, const ipc::FrameView& f, common::io::UniqueFd passed) {
               (void)passed;  // nothing is passed on this socket; a stray descriptor is closed
               on_frame(peer, f);
             }) {}

Server::~Server() { life_.end(); }

Status Server::start() {
  MB_TRY(verifier_->start(base_));
  MB_TRY(imap_.start(base_));
  prune_.reset(event_new(base_, -1, EV_PERSIST, prune_cb, this));
  if (!prune_) return Status::error("event_new (prune)");
  timeval minute{60, 0};
  evtimer_add(prune_.get(), &minute);
  return peers_.start();
}

void Server::prune_cb(evutil_socket_t, short, void* arg) noexcept {
  static_cast<Server*>(arg)->imap_.prune(monotonic());
}

// Each request type only from the users the policy lists for it: the login processes
// check passwords, the mailbox process redeems tokens, neither does the other's job.
void Server::on_frame(std::uint64_t peer, const ipc::FrameView& f) {
  ipc::PeerServer::Peer* p = peers_.find(peer);
  if (!p) return;
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kAuthRedeem)) {
    if (!common::auth::redeem_allowed(policy_, p->uid))
      return peers_.drop(peer, "AuthRedeem from a user that may not redeem login tokens");
    return on_redeem(peer, f);
  }
  on_check(peer, f);
}

void Server::on_check(std::uint64_t peer, const ipc::FrameView& f) {
  ipc::PeerServer::Peer* p = peers_.find(peer);
  if (!p) return;
  auto req = common::auth::check_request(f);
  if (!req) return peers_.drop(peer, "bad request: " + req.message());
  // Each service only from the users the policy lists for it (common/auth/protocol.hpp).
  if (!common::auth::check_allowed(policy_, p->uid, req->service))
    return peers_.drop(peer, "an AuthCheck for " + req->service + " from a user that may not ask for it");
  if (p->ch->queued() >= kMaxUnread) return peers_.drop(peer, "too many replies left unread");
  std::uint64_t request_id = req->request_id;
  bool pop3 = req->service == common::auth::kServicePop3;
  bool imap = req->service == common::auth::kServiceImap;
  std::string login = req->login, client = req->client, service = req->service;
  // IMAP: the client's failure limit is kept here (imap_gate.hpp); a blocked client is
  // refused without a check.
  if (imap && !imap_.start(client, monotonic())) {
    OPENSSL_cleanse(req->password.data(), req->password.size());
    if (warn_.allow("blocked imap " + client))
      log::warn("imap login refused: too many failures from %s", client.c_str());
    Outcome refused;
    refused.result = ipc::AuthResult::kBadCredentials;
    return reply(peer, request_id, refused, "");
  }
  bool queued = verifier_->submit(
      req->login, std::move(req->password),
      [this, peer, request_id, pop3, imap, login, client, service, g = life_.guard()](const Outcome& o) {
        if (!g) return;
        Outcome out = o;
        std::string token;
        if (pop3 && o.result == ipc::AuthResult::kOk)
          token = tokens_.issue(o.account, o.maildir, monotonic());
        bool failed = o.result == ipc::AuthResult::kBadCredentials;
        if (failed) {
          std::size_t dropped = 0;
          if (warn_.allow("fail " + service + " " + client, &dropped))
            log::info("%s login failed for %s from %s%s", service.c_str(), log::printable(login, 80).c_str(),
                      client.c_str(),
                      dropped ? (" (" + std::to_string(dropped) + " more not logged)").c_str() : "");
        }
        if (!imap) return reply(peer, request_id, out, token);
        double hold = imap_.finish(client, monotonic(), failed);
        if (o.result == ipc::AuthResult::kOk) imap_.granted(client, std::time(nullptr));
        if (hold <= 0) return reply(peer, request_id, out, token);
        common::io::run_after(base_, hold, [this, peer, request_id, out, g2 = life_.guard()] {
          if (g2) reply(peer, request_id, out, "");
        });
      });
  OPENSSL_cleanse(req->password.data(), req->password.size());
  if (!queued) {
    if (imap) (void)imap_.finish(client, monotonic(), false);  // not the client's failure
    if (warn_.allow("queue full"))
      log::warn("%zu password checks already waiting: answering a temporary failure", verifier_->waiting());
    reply(peer, request_id, Outcome{}, "");
  }
}

// Answered at once, on the loop thread (no database, no yescrypt): the token alone says
// whether the password was checked for this account moments ago.
void Server::on_redeem(std::uint64_t peer, const ipc::FrameView& f) {
  ipc::PeerServer::Peer* p = peers_.find(peer);
  if (!p) return;
  auto req = common::auth::check_redeem(f);
  if (!req) return peers_.drop(peer, "bad redeem request: " + req.message());
  if (p->ch->queued() >= kMaxUnread) return peers_.drop(peer, "too many replies left unread");
  auto r = tokens_.redeem(req->token, req->account, monotonic());
  OPENSSL_cleanse(req->token.data(), req->token.size());
  ipc::AuthRedeemReply rep;
  rep.request_id = req->request_id;
  rep.result = ipc::AuthResult::kBadCredentials;
  if (r.verdict == LoginTokens::Verdict::kOk) {
    rep.result = ipc::AuthResult::kOk;
    rep.maildir = std::move(r.maildir);
  } else if (warn_.allow("redeem " + p->who)) {
    log::warn("private/auth: %s: login token refused for %s: %s", p->who.c_str(),
              log::printable(req->account, 80).c_str(), to_string(r.verdict));
  }
  p->ch->send(rep);
}

void Server::reply(std::uint64_t peer, std::uint64_t request_id, const Outcome& o, const std::string& token) {
  ipc::PeerServer::Peer* p = peers_.find(peer);
  if (!p || !p->ch->open()) return;  // the asker is gone
  ipc::AuthReply r;
  r.request_id = request_id;
  r.result = o.result;
  if (o.result == ipc::AuthResult::kOk) {
    r.account = o.account;
    r.token = token;
  }
  p->ch->send(r);
}

}  // namespace authd
