// Unix SOCK_SEQPACKET sockets for the internal protocols: one datagram is one frame, and
// a passed fd (SCM_RIGHTS) travels attached to the frame it belongs to.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace common::ipc {

// Binds and listens on `path` (a stale socket file is replaced); the socket file is
// created with `mode` and, if gid != (gid_t)-1, group `gid` (through the umask and the
// file-system gid around bind, never by path afterwards): the file mode is the access
// control. Changes the process umask for the moment of bind: call it before threads start.
Result<io::UniqueFd> listen_unix(const std::string& path, mode_t mode, gid_t gid);
Result<io::UniqueFd> connect_unix(const std::string& path);

// One frame, optionally with one fd. Returns an error with err() == EAGAIN if the socket
// is non-blocking and full.
Status send_frame(int sock, std::string_view frame, int pass_fd = -1);

struct Received {
  std::string data;  // empty with eof = true when the peer closed
  io::UniqueFd fd;   // passed descriptor, if any
  bool eof = false;
};
// Receives one frame. A datagram larger than kMaxFrame, or one carrying more than one
// fd or anything but SCM_RIGHTS, is an error (extra fds are closed). err() == EAGAIN
// when nothing is waiting on a non-blocking socket.
Result<Received> recv_frame(int sock);
// Blocking receive with a timeout in milliseconds (-1: none).
Result<Received> recv_frame_timeout(int sock, int timeout_ms);

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<PeerCred> peer_cred(int sock);

}  // namespace common::ipc
