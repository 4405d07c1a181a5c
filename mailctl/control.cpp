// Implementation of the control-socket client (see control.hpp). Blocking I/O, one
// request at a time; the queue manager answers each in order on the same connection.
// UNTRUSTED (mildly): the queue manager's frames go through the strict decoder.
#include "mailctl/control.hpp"

#include <sysexits.h>

#include <cerrno>

#include "common/ipc/codec.hpp"
#include "common/ipc/socket.hpp"
#include "mailctl/args.hpp"

namespace mailctl {

namespace ipc = common::ipc;
using common::Result;
using common::Status;

Result<ControlClient> ControlClient::connect(const std::string& socket_path, int timeout_ms) {
  auto sock = ipc::connect_unix(socket_path);
  if (!sock) {
    int e = sock.status().err();
    if (e == ENOENT)
      return Status::error("queue manager is not running (no socket at " + socket_path + ")", e);
    if (e == ECONNREFUSED)
      return Status::error("queue manager is not running (nobody listens on " + socket_path + ")", e);
    if (e == EACCES || e == EPERM)
      return Status::error("no permission to use " + socket_path + " (run mailctl as root)", e);
    return Status::error("cannot reach the queue manager: " + sock.message(), e);
  }
  ControlClient c(std::move(*sock), timeout_ms);
  ipc::Hello hello;
  hello.protocol = ipc::kProtoControl;
  hello.version = ipc::kProtoVersion;
  hello.role = "mailctl";
  MB_TRY(c.send_frame(ipc::encode_frame(hello)));
  auto peer = c.receive<ipc::Hello>();
  if (!peer) return peer.status();
  if (peer->protocol != ipc::kProtoControl || peer->version != ipc::kProtoVersion)
    return Status::error("the queue manager speaks another protocol version", EPROTO);
  return c;
}

Status ControlClient::send_frame(const std::string& frame) {
  Status st = ipc::send_frame(sock_.get(), frame);
  if (!st)
    return Status::error("cannot talk to the queue manager: " + st.message(), st.err() ? st.err() : EPIPE);
  return st;
}

template <class T>
Result<T> ControlClient::receive() {
  auto r = ipc::recv_frame_timeout(sock_.get(), timeout_ms_);
  if (!r) {
    int e = r.status().err() ? r.status().err() : ECONNRESET;
    if (e == ETIMEDOUT) return Status::error("the queue manager did not answer in time", e);
    return Status::error("queue manager: " + r.message(), e);
  }
  // The queue manager closes a connection it dislikes (bad request) without a word.
  if (r->eof) return Status::error("the queue manager closed the connection", ECONNRESET);
  auto f = ipc::parse_frame(r->data);
  if (!f) return Status::error("bad frame from the queue manager: " + f.message(), EPROTO);
  auto msg = ipc::decode<T>(*f);
  if (!msg) return Status::error("bad answer from the queue manager: " + msg.message(), EPROTO);
  return msg;
}

Result<std::vector<ipc::QueueEntry>> ControlClient::list(const std::string& only) {
  std::vector<ipc::QueueEntry> all;
  ipc::QueueList req;
  req.only = only;
  for (;;) {
    MB_TRY(send_frame(ipc::encode_frame(req)));
    auto page = receive<ipc::QueueListReply>();
    if (!page) return page.status();
    // Ids ascend; a page that does not continue after the last one would loop forever.
    for (auto& e : page->entries) {
      if (e.id <= req.after) return Status::error("the queue manager's listing is out of order", EPROTO);
      req.after = e.id;
      all.push_back(std::move(e));
    }
    if (!page->more) return all;
    if (page->entries.empty()) return Status::error("the queue manager sent an empty page", EPROTO);
  }
}

Result<ipc::QueueCommandReply> ControlClient::command(const std::string& command, const std::string& arg) {
  MB_TRY(send_frame(ipc::encode_frame(ipc::QueueCommand{command, arg})));
  return receive<ipc::QueueCommandReply>();
}

int control_exit_code(const Status& st) {
  switch (st.err()) {
    case EACCES:
    case EPERM: return EX_NOPERM;
    case ETIMEDOUT: return EX_TEMPFAIL;
    default: return EX_UNAVAILABLE;
  }
}

}  // namespace mailctl
