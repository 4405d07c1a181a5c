// mailctl's blocking client of the queue manager's control socket (spool/private/
// control, protocol mailbag-control, mode 0600: root in production): the queue listing,
// fetched page by page, and the commands flush, delete, hold and release. See
// queue-manager/control.cpp for the server side and mailbag-ipc(7) for the messages.
#pragma once

#include <string>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace mailctl {

// How long one answer of the queue manager may take.
inline constexpr int kControlTimeoutMs = 30000;

class ControlClient {
 public:
  // Connects to `socket_path` and exchanges Hello. The error's err() is the errno of the
  // connection attempt (ENOENT, ECONNREFUSED: not running; EACCES: not root) or of the
  // exchange (ETIMEDOUT, ECONNRESET, EPROTO); control_exit_code() maps it.
  static common::Result<ControlClient> connect(const std::string& socket_path,
                                               int timeout_ms = kControlTimeoutMs);

  // Every message (or only the one with queue id `only`), ids ascending.
  common::Result<std::vector<common::ipc::QueueEntry>> list(const std::string& only = "");
  common::Result<common::ipc::QueueCommandReply> command(const std::string& command, const std::string& arg);

 private:
  ControlClient(common::io::UniqueFd sock, int timeout_ms)
      : sock_(std::move(sock)), timeout_ms_(timeout_ms) {}
  template <class T>
  common::Result<T> receive();
  common::Status send_frame(const std::string& frame);

  common::io::UniqueFd sock_;
  int timeout_ms_;
};

// The exit code (args.hpp) for a failed connect/list/command: 69 when the queue manager
// is not running or went away, 77 without permission, 75 when it did not answer in time.
int control_exit_code(const common::Status& st);

}  // namespace mailctl
