// Request checks and peer policy of the authentication protocol (see protocol.hpp).
#include "common/auth/protocol.hpp"

#include <algorithm>

namespace common::auth {
namespace {

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

Status check_account_and_token(std::string_view account, std::string_view token) {
  if (account.empty() || account.size() > kMaxLogin || has_control(account))
    return Status::error("bad account name");
  if (token.size() != kTokenSize || token.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return Status::error("bad token");
  return Status::ok();
}

bool valid_client(std::string_view client) { return client.size() <= kMaxClient && !has_control(client); }

Result<ipc::AuthCheck> check_request(const ipc::FrameView& frame) {
  auto c = ipc::decode<ipc::AuthCheck>(frame);
  if (!c) return c.status();
  if (c->service != kServiceSmtp && c->service != kServicePop3 && c->service != kServiceImap)
    return Status::error("unknown service");
  if (!valid_client(c->client)) return Status::error("bad client address");
  if (c->login.empty() || c->login.size() > kMaxLogin || has_control(c->login))
    return Status::error("bad login name");
  if (c->password.empty() || c->password.size() > kMaxPassword || c->password.find('\0') != std::string::npos)
    return Status::error("bad password field");
  return c;
}

Result<ipc::AuthRedeem> check_redeem(const ipc::FrameView& frame) {
  auto r = ipc::decode<ipc::AuthRedeem>(frame);
  if (!r) return r.status();
  if (Status st = check_account_and_token(r->account, r->token); !st) return st;
  return r;
}

bool peer_allowed(const PeerPolicy& policy, uid_t uid) {
  if (!policy.enforce) return true;
  return std::find(policy.uids.begin(), policy.uids.end(), uid) != policy.uids.end();
}

namespace {
bool listed(const std::vector<uid_t>& uids, uid_t uid) {
  return std::find(uids.begin(), uids.end(), uid) != uids.end();
}
}  // namespace

bool connect_allowed(const PeerPolicy& policy, uid_t uid) {
  if (!policy.enforce) return true;
  return listed(policy.uids, uid) || listed(policy.redeem_uids, uid) || listed(policy.imap_uids, uid);
}

bool check_allowed(const PeerPolicy& policy, uid_t uid, std::string_view service) {
  if (!policy.enforce) return true;
  return listed(service == kServiceImap ? policy.imap_uids : policy.uids, uid);
}

bool redeem_allowed(const PeerPolicy& policy, uid_t uid) {
  if (!policy.enforce) return true;
  return std::find(policy.redeem_uids.begin(), policy.redeem_uids.end(), uid) != policy.redeem_uids.end();
}

}  // namespace common::auth
