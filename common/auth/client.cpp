// The client of the authentication daemon (see client.hpp).
#include "common/auth/client.hpp"

#include <openssl/crypto.h>

namespace common::auth {

Client::Client(event_base* base, const std::string& socket_path, std::string service, const std::string& role,
               int timeout_ms)
    : service_(std::move(service)),
      client_(base, ipc::Peer{socket_path, ipc::kProtoAuth, role, "the authentication daemon"}, timeout_ms) {}

void Client::start() { client_.keep_connected(1); }

std::uint64_t Client::check(const std::string& client_ip, const std::string& login, std::string password,
                            Done done) {
  ipc::AuthCheck req;
  req.service = service_;
  req.client = client_ip;
  req.login = login;
  req.password = std::move(password);
  // call() encodes the request into a frame at once and sends it on this or a later
  // turn; what is left here is wiped (a best effort: the frame buffer is freed as is).
  OPENSSL_cleanse(password.data(), password.size());
  return client_.call<ipc::AuthReply>(
      std::move(req), io::UniqueFd(), [done = std::move(done)](Result<ipc::AuthReply> r) {
        Verdict v;
        if (!r) {
          v.why = r.message();
          done(v);
          return;
        }
        v.result = r->result;
        if (v.result == ipc::AuthResult::kOk) {
          v.account = std::move(r->account);
          v.token = std::move(r->token);
          // An ok without an account is no answer we can act on.
          if (v.account.empty()) {
            v.result = ipc::AuthResult::kTempFail;
            v.why = "the authentication daemon answered ok without an account";
          }
        }
        done(v);
      });
}

std::uint64_t Client::redeem(const std::string& account, std::string token, Done done) {
  ipc::AuthRedeem req;
  req.account = account;
  req.token = std::move(token);
  return client_.call<ipc::AuthRedeemReply>(
      std::move(req), io::UniqueFd(), [done = std::move(done), account](Result<ipc::AuthRedeemReply> r) {
        Verdict v;
        if (!r) {
          v.why = r.message();
          done(v);
          return;
        }
        v.result = r->result;
        if (v.result == ipc::AuthResult::kOk) {
          v.account = account;
          v.maildir = std::move(r->maildir);
          if (v.maildir.empty() || v.maildir[0] != '/') {
            v.result = ipc::AuthResult::kTempFail;
            v.why = "the authentication daemon redeemed a token without a Maildir";
          }
        }
        done(v);
      });
}

}  // namespace common::auth
