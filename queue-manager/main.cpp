// queue-manager: owns the mail queue. Runs as mb-queue (see common/privsep/users.hpp).
// Touches: spool/queue, spool/corrupt, spool/state (read-write, its own), accounts.mdb
// (read: which domains are local). Listens on spool/private/{submit,local,remote}.
// Trusts: nobody on those sockets — every file and frame is validated; peers' uids are
// checked on the agent sockets when started as root.
#include "common/config/config.hpp"
#include "common/config/reload.hpp"
#include "common/io/event.hpp"
#include "common/log/log.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/drop.hpp"
#include "common/spool/fault.hpp"
#include "queue-manager/manager.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("queue-manager", argc, argv);
  common::log::init("queue-manager", cfg.log_target);
  common::spool::fault::init_from_env();
  auto pre = qmgr::pre_jail(cfg);
  if (auto st = common::pg::prepare(cfg, "queue-manager"); !st)
    common::log::fatal("%s", st.message().c_str());
  common::privsep::drop("queue-manager");

  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  common::config::Reloader reloader(base.get(), &cfg, "queue-manager");
  qmgr::Manager manager(base.get(), cfg, std::move(pre));
  reloader.on_reload([&manager](const common::config::Config&) { manager.configure(); });
  if (auto st = manager.start(); !st) common::log::fatal("%s", st.message().c_str());
  common::log::info("started");
  event_base_dispatch(base.get());
  common::log::info("stopped");
  return 0;
}
