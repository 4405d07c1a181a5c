// Handover frame checks and peer policy (see handover.hpp).
#include "pop3d/handover.hpp"

#include <algorithm>

#include "common/auth/protocol.hpp"

namespace pop3d {

using common::Status;

common::Result<common::ipc::Pop3Handover> check_handover(const common::ipc::FrameView& frame, bool has_fd) {
  auto h = common::ipc::decode<common::ipc::Pop3Handover>(frame);
  if (!h) return h.status();
  if (!has_fd) return Status::error("no client descriptor passed");
  if (Status st = common::auth::check_account_and_token(h->account, h->token); !st) return st;
  if (!common::auth::valid_client(h->client)) return Status::error("bad client address");
  if (h->input.size() > kMaxHandoverInput) return Status::error("too much pipelined input");
  return h;
}

bool handover_allowed(const HandoverPolicy& policy, uid_t uid) {
  if (!policy.enforce) return true;
  return std::find(policy.uids.begin(), policy.uids.end(), uid) != policy.uids.end();
}

}  // namespace pop3d
