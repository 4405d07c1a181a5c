// One signing request, from the queue file's descriptor to the answer: the descriptor
// is checked (a regular queue file, read-only; of group mb-drop or mb-queue when these
// are known: the files of the drop directory and the queue manager's own notices),
// its envelope read and validated (common/spool/queue_file.hpp), the message streamed
// through the canonicaliser once, the decision taken (common/dkim/policy.hpp) and the
// field signed with the domain's key. The writer of the file comes from its envelope
// labels, which the queue manager keeps true (common/spool/origin.hpp); nothing the
// remote agent says is believed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/ipc/messages.hpp"
#include "common/net/cidr.hpp"
#include "delivery/dkim/keyring.hpp"

namespace delivery::dkim {

struct Policy {
  common::net::NetworkList relay_networks;
  // The groups of queue files (mb-drop, mb-queue) when running as root; empty: unchecked.
  std::vector<gid_t> queue_gids;
};

// The answer to a Sign request for the queue file `fd` (which the caller owns).
common::ipc::SignDone handle_sign(const common::ipc::Sign& req, int fd, const KeyRing& keys, const Policy& p,
                                  std::int64_t now);

}  // namespace delivery::dkim
