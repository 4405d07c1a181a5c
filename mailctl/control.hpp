// mailctl's client of the queue manager's control socket (spool/private/
// control, protocol mailbag-control, mode 0600: root in production), on the common
// blocking client (common/ipc/client.hpp): the queue listing,
// fetched page by page, and the commands flush, delete, hold and release. See
// queue-manager/control.cpp for the server side and mailbag-ipc(7) for the messages.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/ipc/client.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace mailctl {

// How long one answer of the queue manager may take.
inline constexpr int kControlTimeoutMs = 30000;

class ControlClient {
 public:
  // Connects to `socket_path` and exchanges Hello (common/ipc/client.hpp, whose err()
  // values the errors carry: ENOENT, ECONNREFUSED: not running; EACCES: not root;
  // ETIMEDOUT, ECONNRESET, EPROTO, EPROTONOSUPPORT); control_exit_code() maps them.
  static common::Result<ControlClient> connect(const std::string& socket_path,
                                               int timeout_ms = kControlTimeoutMs);

  // Every message (or only the one with queue id `only`), ids ascending.
  common::Result<std::vector<common::ipc::QueueEntry>> list(const std::string& only = "");
  // The same page by page, each handed to `page` as it arrives (a listing of a million
  // messages starts printing at once and is never held whole).
  common::Status list_pages(const std::string& only,
                            const std::function<void(std::vector<common::ipc::QueueEntry>&)>& page);
  common::Result<common::ipc::QueueCommandReply> command(const std::string& command, const std::string& arg);

 private:
  explicit ControlClient(common::ipc::BlockingClient c) : c_(std::move(c)) {}

  common::ipc::BlockingClient c_;
};

// The exit code (args.hpp) for a failed connect/list/command: 69 when the queue manager
// is not running or went away, 77 without permission, 75 when it did not answer in time.
int control_exit_code(const common::Status& st);

}  // namespace mailctl
