// Queue manager set-up: what is opened before the privilege drop, and start-up after it.
#include "queue-manager/manager.hpp"

#include <fcntl.h>
#include <sys/time.h>

#include <ctime>

#include "common/io/fdio.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"

namespace qmgr {

using common::Status;
namespace log = common::log;

PreJail pre_jail(const common::config::Config& cfg) {
  common::spool::Layout layout(cfg);
  PreJail p;
  auto q = common::io::open_dir(layout.queue());
  if (!q) log::fatal("%s (run mailctl init)", q.message().c_str());
  p.queue_dir = std::move(*q);
  auto c = common::io::open_dir(layout.corrupt());
  if (!c) log::fatal("%s (run mailctl init)", c.message().c_str());
  p.corrupt_dir = std::move(*c);

  bool root = common::privsep::running_as_root();
  auto gid_of = [&](std::string_view group) -> gid_t {
    if (!root) return static_cast<gid_t>(-1);
    auto g = common::privsep::group_id(group);
    if (!g) log::fatal("%s", g.message().c_str());
    return *g;
  };
  auto uid_of = [&](std::string_view user) -> long {
    if (!root) return -1;
    auto u = common::privsep::user_id(user);
    if (!u) log::fatal("%s", u.message().c_str());
    return static_cast<long>(*u);
  };
  // The socket file modes are the access control: smtpd and sendmail reach the submit
  // socket through group mb-drop; each agent socket is open to its agent's group, and
  // the peer's uid is checked on accept as well (pop3d shares group mb-mail).
  auto s = common::ipc::listen_unix(layout.submit_socket(), 0660, gid_of("mb-drop"));
  if (!s) log::fatal("%s", s.message().c_str());
  p.submit_listener = std::move(*s);
  const auto* local = common::privsep::identity_for("local");
  const auto* remote = common::privsep::identity_for("remote");
  auto l = common::ipc::listen_unix(layout.local_socket(), 0660, gid_of(local->primary_group));
  if (!l) log::fatal("%s", l.message().c_str());
  p.agent_listener[static_cast<int>(Transport::kLocal)] = std::move(*l);
  p.agent_uid[static_cast<int>(Transport::kLocal)] = uid_of(local->user);
  auto r = common::ipc::listen_unix(layout.remote_socket(), 0660, gid_of(remote->primary_group));
  if (!r) log::fatal("%s", r.message().c_str());
  p.agent_listener[static_cast<int>(Transport::kRemote)] = std::move(*r);
  p.agent_uid[static_cast<int>(Transport::kRemote)] = uid_of(remote->user);
  // Administration: only the socket's owner (root, or the user running a test instance).
  auto ctl = common::ipc::listen_unix(layout.control_socket(), 0600, static_cast<gid_t>(-1));
  if (!ctl) log::fatal("%s", ctl.message().c_str());
  p.control_listener = std::move(*ctl);
  return p;
}

Manager::Manager(event_base* base, const common::config::Config& cfg, PreJail pre)
    : base_(base), cfg_(cfg), layout_(cfg), pre_(std::move(pre)) {
  policy_.min_delay = cfg.queue_retry_min;
  policy_.max_delay = cfg.queue_retry_max;
  policy_.lifetime = cfg.queue_lifetime;
  commit_ev_.reset(event_new(base_, -1, 0, on_commit_cb, this));
  dispatch_ev_.reset(event_new(base_, -1, 0, on_dispatch_cb, this));
  wakeup_ev_.reset(evtimer_new(base_, on_wakeup_cb, this));
  state_retry_ev_.reset(evtimer_new(base_, on_commit_cb, this));
  MB_CHECK(commit_ev_ && dispatch_ev_ && wakeup_ev_ && state_retry_ev_, "event_new");
}

Manager::~Manager() = default;

std::int64_t Manager::now() const { return static_cast<std::int64_t>(std::time(nullptr)); }

Status Manager::start() {
  auto acc = common::accounts::Accounts::open(layout_.accounts_db(), false);
  if (!acc) return Status::error("accounts database: " + acc.message());
  accounts_ = std::move(*acc);
  auto st = StateDb::open(layout_.state() + "/queue.mdb");
  if (!st) return Status::error("queue state database: " + st.message());
  state_ = std::move(*st);

  MB_TRY(recover());
  remover_ = std::make_unique<Remover>(pre_.queue_dir.get());
  syncer_ = std::make_unique<Syncer>(base_, pre_.queue_dir.get(), [this](int err) { on_synced(err); });

  submit_listener_.reset(evconnlistener_new(base_, on_submit_accept_cb, this,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                            pre_.submit_listener.release()));
  if (!submit_listener_) return Status::error("evconnlistener_new (submit)");
  control_listener_.reset(evconnlistener_new(base_, on_control_accept_cb, this,
                                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                             pre_.control_listener.release()));
  if (!control_listener_) return Status::error("evconnlistener_new (control)");
  for (int t = 0; t < kTransports; ++t) {
    agent_ctx_[t] = ListenerCtx{this, static_cast<Transport>(t)};
    agent_listener_[t].reset(evconnlistener_new(base_, on_agent_accept_cb, &agent_ctx_[t],
                                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                                pre_.agent_listener[t].release()));
    if (!agent_listener_[t]) return Status::error("evconnlistener_new (agents)");
  }
  arm_wakeup();
  schedule_dispatch();
  return Status::ok();
}

}  // namespace qmgr
