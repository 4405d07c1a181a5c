// Implementation of the control-socket client (see control.hpp): one request at a time
// on common/ipc/client.hpp's blocking client; the queue manager answers each in order.
// UNTRUSTED (mildly): the queue manager's frames go through the strict decoder.
#include "mailctl/control.hpp"

#include <sysexits.h>

#include <cerrno>

#include "mailctl/args.hpp"

namespace mailctl {

namespace ipc = common::ipc;
using common::Result;
using common::Status;

Result<ControlClient> ControlClient::connect(const std::string& socket_path, int timeout_ms) {
  auto c = ipc::BlockingClient::connect(
      ipc::Peer{socket_path, ipc::kProtoControl, "mailctl", "queue manager"}, timeout_ms);
  if (!c) {
    int e = c.status().err();
    if (e == EACCES || e == EPERM) return Status::error(c.message() + " (run mailctl as root)", e);
    return c.status();
  }
  return ControlClient(std::move(*c));
}

Status ControlClient::list_pages(const std::string& only,
                                 const std::function<void(std::vector<ipc::QueueEntry>&)>& page_fn) {
  ipc::QueueList req;
  req.only = only;
  for (;;) {
    auto page = c_.call<ipc::QueueListReply>(req);
    if (!page) return page.status();
    // Ids ascend; a page that does not continue after the last one would loop forever.
    for (auto& e : page->entries) {
      if (e.id <= req.after) return Status::error("the queue manager's listing is out of order", EPROTO);
      req.after = e.id;
    }
    page_fn(page->entries);
    if (!page->more) return Status::ok();
    if (page->entries.empty()) return Status::error("the queue manager sent an empty page", EPROTO);
  }
}

Result<std::vector<ipc::QueueEntry>> ControlClient::list(const std::string& only) {
  std::vector<ipc::QueueEntry> all;
  MB_TRY(list_pages(only, [&](std::vector<ipc::QueueEntry>& page) {
    for (auto& e : page) all.push_back(std::move(e));
  }));
  return all;
}

Result<ipc::QueueCommandReply> ControlClient::command(const std::string& command, const std::string& arg) {
  return c_.call<ipc::QueueCommandReply>(ipc::QueueCommand{command, arg});
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
