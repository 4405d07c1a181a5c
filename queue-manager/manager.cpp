// Queue manager set-up (what is opened before the privilege drop, start-up after it) and
// the Host operations on the spool and the loop that the Core asks for.
#include "queue-manager/manager.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/check.hpp"
#include "common/config/relay_domain.hpp"
#include "common/io/fdio.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "common/spool/fault.hpp"

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

namespace {

// Small slack over message_size_limit for the Received header the submitter prepends.
constexpr std::uint64_t kHeaderSlack = 64 * 1024;

CoreSettings settings(const common::config::Config& cfg) {
  CoreSettings s;
  s.retry.min_delay = cfg.queue_retry_min;
  s.retry.max_delay = cfg.queue_retry_max;
  s.retry.lifetime = cfg.queue_lifetime;
  s.max_data_size = static_cast<std::uint64_t>(cfg.message_size_limit) + kHeaderSlack;
  s.delay_warning_time = cfg.delay_warning_time;
  s.postmaster = cfg.postmaster_address.empty() ? "postmaster@" + cfg.hostname : cfg.postmaster_address;
  s.etrn.interval = cfg.etrn_interval;
  s.wakeup_address = common::mail::lower(cfg.relay_wakeup_address);
  // Per relay domain (validated with the configuration); only for relay_domains.
  auto per_domain = common::config::parse_relay_domains(cfg.relay_domain_settings);
  MB_CHECK(per_domain.is_ok(), "relay_domain_settings checked by the config parser");
  for (const auto& d : *per_domain) {
    bool relay = false;
    for (const auto& r : cfg.relay_domains) relay = relay || common::mail::lower(r) == d.domain;
    if (!relay) continue;
    if (d.lifetime > 0) s.retry.domain_lifetime[d.domain] = d.lifetime;
    if (d.max_queued > 0) s.domain_max_queued[d.domain] = static_cast<std::uint64_t>(d.max_queued);
  }
  return s;
}

}  // namespace

Manager::Manager(event_base* base, const common::config::Config& cfg, PreJail pre)
    : base_(base), cfg_(cfg), layout_(cfg), pre_(std::move(pre)), core_(*this, settings(cfg)) {
  commit_ev_.reset(event_new(base_, -1, 0, on_commit_cb, this));
  dispatch_ev_.reset(event_new(base_, -1, 0, on_dispatch_cb, this));
  wakeup_ev_.reset(evtimer_new(base_, on_wakeup_cb, this));
  state_retry_ev_.reset(evtimer_new(base_, on_commit_cb, this));
  MB_CHECK(commit_ev_ && dispatch_ev_ && wakeup_ev_ && state_retry_ev_, "event_new");
}

Manager::~Manager() = default;

void Manager::configure() {
  core_.set_settings(settings(cfg_));
  request_dispatch();
}

std::int64_t Manager::now() const { return static_cast<std::int64_t>(std::time(nullptr)); }

Status Manager::start() {
  auto acc = common::pg::open_accounts(cfg_, false);
  if (!acc) return Status::error("accounts database: " + acc.message());
  accounts_ = std::move(*acc);
  local_domains_ = std::make_unique<LocalDomains>(base_, cfg_, *accounts_);
  MB_TRY(local_domains_->start());
  auto st = StateDb::open(layout_.state() + "/queue.mdb");
  if (!st) return Status::error("queue state database: " + st.message());
  state_ = std::move(*st);

  MB_TRY(recover());
  remover_ = std::make_unique<Remover>(base_, pre_.queue_dir.get());
  syncer_ = std::make_unique<Syncer>(base_, pre_.queue_dir.get(), [this](int err) {
    if (err == 0) common::spool::fault::hit("qmgr.after_sync");
    core_.synced(err);
  });

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
  core_.wake(now());
  request_dispatch();
  return Status::ok();
}

Status Manager::unlink(const std::string& id) {
  common::spool::fault::hit("qmgr.before_remove");
  if (::unlinkat(pre_.queue_dir.get(), id.c_str(), 0) < 0 && errno != ENOENT)
    return Status::sys("unlink " + id);
  return Status::ok();
}

void Manager::unlink_later(const std::string& id) {
  common::spool::fault::hit("qmgr.before_remove");
  remover_->remove(id);
}

void Manager::move_aside(const std::string& name, const std::string& why) {
  std::string dest = name + "." + std::to_string(now());
  if (::renameat(pre_.queue_dir.get(), name.c_str(), pre_.corrupt_dir.get(), dest.c_str()) < 0) {
    log::error("queue file %s is damaged (%s) and cannot be moved aside: %s", name.c_str(), why.c_str(),
               std::strerror(errno));
    return;
  }
  log::warn("%s: damaged queue file moved to corrupt/%s: %s", name.c_str(), dest.c_str(), why.c_str());
}

void Manager::start_sync() {
  common::spool::fault::hit("qmgr.before_sync");
  syncer_->start(common::spool::fault::hit("qmgr.sync"));
}

void Manager::request_commit() {
  if (commit_scheduled_) return;
  commit_scheduled_ = true;
  event_active(commit_ev_.get(), EV_TIMEOUT, 0);
}

void Manager::request_commit_later() {
  timeval one{1, 0};
  event_add(state_retry_ev_.get(), &one);
}

void Manager::on_commit_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Manager*>(self)->commit();
}

void Manager::commit() {
  commit_scheduled_ = false;
  // The queue files first (the Core starts a sync if one is due), then the state
  // records: a record is never durable before the file it describes.
  core_.commit();
  if (state_ && state_->dirty()) {
    Status st = state_->commit();
    if (!st) {
      log::error("queue state database: %s (retrying in 1s)", st.message().c_str());
      request_commit_later();
    }
  }
}

void Manager::request_dispatch() {
  if (dispatch_scheduled_) return;
  dispatch_scheduled_ = true;
  event_active(dispatch_ev_.get(), EV_TIMEOUT, 0);
}

void Manager::on_dispatch_cb(evutil_socket_t, short, void* self) noexcept {
  auto* me = static_cast<Manager*>(self);
  me->dispatch_scheduled_ = false;
  me->core_.dispatch(me->now());
}

void Manager::wake_at(std::int64_t at) {
  if (wakeup_at_ != 0 && wakeup_at_ <= at && event_pending(wakeup_ev_.get(), EV_TIMEOUT, nullptr)) return;
  wakeup_at_ = at;
  timeval tv{static_cast<time_t>(at - now()), 0};
  if (tv.tv_sec < 0) tv.tv_sec = 0;
  event_add(wakeup_ev_.get(), &tv);
}

void Manager::on_wakeup_cb(evutil_socket_t, short, void* self) noexcept {
  auto* me = static_cast<Manager*>(self);
  me->wakeup_at_ = 0;
  me->core_.wake(me->now());
}

}  // namespace qmgr
