// The checks process around run_check(): the listening socket private/checks (protocol
// mailbag-checks), one Channel per smtpd connection, and a WorkQueue whose threads run
// the checks, so that slow DNS never stalls the loop; each answer goes back on the
// channel its request came from (if that is still open).
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <cstdint>
#include <map>
#include <memory>

#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/io/work_queue.hpp"
#include "common/ipc/channel.hpp"
#include "smtpd/checks/run_check.hpp"

namespace checks {

class Server {
 public:
  Server(event_base* base, Context ctx, common::io::UniqueFd listener);
  common::Status start();
  // A reload: requests from now on run with `s`; those already running keep theirs
  // (each holds its own copy), and the DNS list verdicts cached so far are forgotten.
  void set_settings(Settings s);

 private:
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept;
  void on_frame(std::uint64_t conn, const common::ipc::FrameView& f, common::io::UniqueFd fd);

  event_base* base_;
  Context ctx_;
  std::shared_ptr<const Settings> settings_;  // the current settings (ctx_.settings at start)
  common::io::UniqueFd listen_fd_;
  common::io::ListenerPtr listener_;
  common::io::WorkQueue work_;
  std::map<std::uint64_t, std::unique_ptr<common::ipc::Channel>> conns_;
  std::uint64_t next_conn_ = 1;
};

}  // namespace checks
