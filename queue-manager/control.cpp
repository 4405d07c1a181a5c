// Administration: mailctl connects to private/control (mode 0600: root only in
// production) to list the queue page by page and to flush, delete, hold and release
// messages, or start a domain's mail as ETRN would. The Core answers (core_admin.cpp);
// every answer fits in one frame.
#include "common/log/log.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Status;
namespace ipc = common::ipc;

void Manager::on_control_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Manager*>(self)->on_control_accept(fd);
}

void Manager::on_control_accept(int fd) {
  std::uint64_t id = next_conn_id_++;
  control_conns_[id] = std::make_unique<ipc::Channel>(
      base_, common::io::UniqueFd(fd), ipc::kProtoControl, "queue-manager",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd) { on_control_frame(id, f); },
      [this, id](const Status&) { common::io::run_soon(base_, [this, id] { control_conns_.erase(id); }); });
}

void Manager::on_control_frame(std::uint64_t conn_id, const ipc::FrameView& f) {
  auto it = control_conns_.find(conn_id);
  if (it == control_conns_.end()) return;
  ipc::Channel& ch = *it->second;
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kQueueList)) {
    auto req = ipc::decode<ipc::QueueList>(f);
    if (!req) return ch.close(req.status());
    return ch.send(core_.list(*req));
  }
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kQueueCommand)) {
    auto req = ipc::decode<ipc::QueueCommand>(f);
    if (!req) return ch.close(req.status());
    return ch.send(core_.command(*req, now()));
  }
  ch.close(Status::error("unexpected message on control socket"));
}

}  // namespace qmgr
