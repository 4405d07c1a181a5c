// The checks process's loop (see server.hpp).
#include "smtpd/checks/server.hpp"

#include "common/io/event.hpp"

namespace checks {
namespace {
// DNS waits, not CPU: enough threads for the lookups of many sessions at once; more
// requests wait in the queue, and smtpd's own timeout bounds what a client sees.
constexpr std::size_t kThreads = 32;
constexpr std::size_t kMaxWaiting = 4096;
}  // namespace

Server::Server(event_base* base, Context ctx, common::io::UniqueFd listener)
    : base_(base),
      ctx_(ctx),
      settings_(std::make_shared<const Settings>(ctx.settings)),
      listen_fd_(std::move(listener)),
      work_(kThreads, kMaxWaiting) {}

void Server::set_settings(Settings s) {
  settings_ = std::make_shared<const Settings>(std::move(s));
  ctx_.cache.clear();
}

common::Status Server::start() {
  MB_TRY(work_.start(base_));
  listener_.reset(evconnlistener_new(base_, accept_cb, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                     -1, listen_fd_.release()));
  if (!listener_) return common::Status::error("evconnlistener_new");
  return common::Status::ok();
}

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* p) noexcept {
  auto* self = static_cast<Server*>(p);
  std::uint64_t id = self->next_conn_++;
  evutil_make_socket_nonblocking(fd);
  auto ch = std::make_unique<common::ipc::Channel>(
      self->base_, common::io::UniqueFd(fd), common::ipc::kProtoChecks, "checks",
      [self, id](const common::ipc::FrameView& f, common::io::UniqueFd passed) {
        self->on_frame(id, f, std::move(passed));
      },
      [self, id](const common::Status&) { self->conns_.erase(id); });
  self->conns_[id] = std::move(ch);
}

void Server::on_frame(std::uint64_t conn, const common::ipc::FrameView& f, common::io::UniqueFd fd) {
  auto req = common::ipc::decode<common::ipc::Check>(f);
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (!req) {
    it->second->close(common::Status::error("bad request: " + req.message()));
    return;
  }
  auto done = std::make_shared<common::ipc::CheckDone>();
  auto shared_fd = std::make_shared<common::io::UniqueFd>(std::move(fd));
  auto request = std::make_shared<common::ipc::Check>(std::move(*req));
  // The worker thread reads its own copy of the settings: a reload cannot change them
  // under it.
  std::shared_ptr<const Settings> snap = settings_;
  Context ctx{*snap, ctx_.dns, ctx_.psl, ctx_.cache};
  bool queued = work_.submit(
      [snap, ctx, done, shared_fd, request]() mutable { *done = run_check(ctx, *request, shared_fd->get()); },
      [this, conn, done] {
        auto c = conns_.find(conn);
        if (c != conns_.end() && c->second->open()) c->second->send(*done);
      });
  if (!queued) {
    // Overloaded: an empty answer, which smtpd treats like any verdict it did not get.
    common::ipc::CheckDone busy;
    busy.request_id = request->request_id;
    busy.dnsbl = 3;
    busy.results.push_back({"checks", "temperror", "checks process overloaded", {}});
    it->second->send(busy);
  }
}

}  // namespace checks
