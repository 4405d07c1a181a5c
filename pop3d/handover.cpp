// Handover frame checks and peer policy (see handover.hpp).
#include "pop3d/handover.hpp"

#include <algorithm>

#include "common/auth/protocol.hpp"

namespace pop3d {

using common::Status;

namespace {

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

common::Result<common::ipc::Pop3Handover> check_handover(const common::ipc::FrameView& frame, bool has_fd) {
  auto h = common::ipc::decode<common::ipc::Pop3Handover>(frame);
  if (!h) return h.status();
  if (!has_fd) return Status::error("no client descriptor passed");
  if (h->account.empty() || h->account.size() > common::auth::kMaxLogin || has_control(h->account))
    return Status::error("bad account name");
  if (h->token.size() != common::auth::kTokenSize ||
      h->token.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Status::error("bad token");
  if (h->client.size() > common::auth::kMaxClient || has_control(h->client))
    return Status::error("bad client address");
  if (h->input.size() > kMaxHandoverInput) return Status::error("too much pipelined input");
  return h;
}

bool handover_allowed(const HandoverPolicy& policy, uid_t uid) {
  if (!policy.enforce) return true;
  return std::find(policy.uids.begin(), policy.uids.end(), uid) != policy.uids.end();
}

}  // namespace pop3d
