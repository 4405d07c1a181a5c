// Implementation of the signer's process (see server.hpp).
#include "delivery/dkim/server.hpp"

#include <event2/listener.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <memory>

#include "common/config/reload.hpp"
#include "common/io/event.hpp"
#include "common/ipc/channel.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "common/spool/layout.hpp"

namespace delivery::dkim {

namespace log = common::log;
namespace ipc = common::ipc;

PreJail pre_jail(const common::config::Config& cfg) {
  PreJail pre;
  bool root = ::geteuid() == 0;
  gid_t remote_gid = static_cast<gid_t>(-1);
  if (root) {
    const auto* remote = common::privsep::identity_for("remote");
    auto g = common::privsep::group_id(remote->primary_group);
    auto u = common::privsep::user_id(remote->user);
    auto drop = common::privsep::group_id("mb-drop");
    auto queue = common::privsep::group_id("mb-queue");
    for (const common::Status* st : {&g.status(), &u.status(), &drop.status(), &queue.status()})
      if (!st->is_ok()) log::fatal("%s", st->message().c_str());
    remote_gid = *g;
    pre.peer_uid = static_cast<long>(*u);
    pre.policy.queue_gids = {*drop, *queue};
  }
  auto nets = common::net::NetworkList::parse(cfg.relay_networks);
  if (!nets) log::fatal("relay_networks: %s", nets.message().c_str());
  pre.policy.relay_networks = std::move(*nets);
  auto l = ipc::listen_unix(common::spool::Layout(cfg).sign_socket(), 0660, remote_gid);
  if (!l) log::fatal("%s", l.message().c_str());
  pre.listener = std::move(*l);
  return pre;
}

namespace {

class Server {
 public:
  Server(event_base* base, const common::config::Config& cfg, PreJail pre)
      : base_(base), pre_(std::move(pre)), keys_(common::spool::Layout(cfg).dkim_keys()) {}

  // A reload: relay_networks anew (which clients' mail is signed) and the keys.
  void configure(const common::config::Config& cfg) {
    if (auto nets = common::net::NetworkList::parse(cfg.relay_networks))
      pre_.policy.relay_networks = std::move(*nets);
    keys_.refresh();
    log::info("reload: %zu domain key(s)", keys_.size());
  }

  common::Status start() {
    keys_.refresh();
    log::info("started; %zu domain key(s)", keys_.size());
    listener_.reset(evconnlistener_new(base_, on_accept_cb, this,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                       pre_.listener.release()));
    if (!listener_) return common::Status::error("evconnlistener_new");
    return common::Status::ok();
  }

 private:
  struct ListenerFree {
    void operator()(evconnlistener* l) const { evconnlistener_free(l); }
  };
  static void on_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
    static_cast<Server*>(self)->on_accept(fd);
  }

  void on_accept(int fd) {
    common::io::UniqueFd sock(fd);
    if (pre_.peer_uid >= 0) {
      auto cred = ipc::peer_cred(sock.get());
      if (!cred || static_cast<long>(cred->uid) != pre_.peer_uid) {
        log::warn("refused a connection from uid %ld (only the remote agent, uid %ld, may ask)",
                  cred ? static_cast<long>(cred->uid) : -1L, pre_.peer_uid);
        return;
      }
    }
    std::uint64_t id = next_id_++;
    conns_[id] = std::make_unique<ipc::Channel>(
        base_, std::move(sock), ipc::kProtoSign, "dkim",
        [this, id](const ipc::FrameView& f, common::io::UniqueFd pass) { on_frame(id, f, std::move(pass)); },
        [this, id](const common::Status&) { common::io::run_soon(base_, [this, id] { conns_.erase(id); }); });
  }

  void on_frame(std::uint64_t id, const ipc::FrameView& f, common::io::UniqueFd fd) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    auto req = ipc::decode<ipc::Sign>(f);
    if (!req) {
      log::warn("protocol error from the remote agent: %s", req.message().c_str());
      it->second->close(req.status());
      return;
    }
    keys_.refresh();
    it->second->send(handle_sign(*req, fd.get(), keys_, pre_.policy, std::time(nullptr)));
  }

  event_base* base_;
  PreJail pre_;
  KeyRing keys_;
  std::unique_ptr<evconnlistener, ListenerFree> listener_;
  std::map<std::uint64_t, std::unique_ptr<ipc::Channel>> conns_;
  std::uint64_t next_id_ = 1;
};

}  // namespace

int run(common::config::Config& cfg, PreJail pre) {
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  common::config::Reloader reloader(base.get(), &cfg, "dkim");
  Server s(base.get(), cfg, std::move(pre));
  reloader.on_reload([&](const common::config::Config&) { s.configure(cfg); });
  if (auto st = s.start(); !st) log::fatal("%s", st.message().c_str());
  event_base_dispatch(base.get());
  log::info("stopped");
  return 0;
}

}  // namespace delivery::dkim
