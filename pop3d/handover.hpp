// The rules of the handover between pop3d (the login process) and the POP3 mailbox
// process (pop3d/mailbox/): what a well-formed Pop3Handover is (common/ipc/messages.hpp,
// mailbag-ipc(7)) and which peers the mailbox process serves. Pure, tested without
// sockets. UNTRUSTED: check_handover() reads frames from pop3d, which parses the network
// and may be under a remote attacker's control.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <vector>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace pop3d {

// Input read after the login command: pop3d stops reading while a command runs, at
// 64 KiB, so a handover never carries more.
inline constexpr std::size_t kMaxHandoverInput = 64 * 1024;

// Decodes a Pop3Handover and checks its fields (account and token as AuthRedeem wants
// them, a client address, bounded input). `has_fd`: whether a descriptor came with it
// (one must). An error: the peer speaks nonsense and its connection is closed.
common::Result<common::ipc::Pop3Handover> check_handover(const common::ipc::FrameView& frame, bool has_fd);

// Who may hand clients over: pop3d's user and root when the mailbox process started as
// root; anyone who can open the socket otherwise (a private instance: one user).
struct HandoverPolicy {
  bool enforce = true;
  std::vector<uid_t> uids;
};
bool handover_allowed(const HandoverPolicy& policy, uid_t uid);

}  // namespace pop3d
