// local: the local delivery agent. Runs as mb-vmail (group mb-mail, + mb-acct to read
// accounts.mdb). Connects to the queue manager at spool/private/local, receives
// Deliver requests with a read-only fd of the queue file, and writes Maildirs under
// mail_directory. Trusts the queue manager for what to deliver, nothing else.
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/drop.hpp"
#include "delivery/local/server.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("local", argc, argv);
  common::log::init("local", cfg.log_target);
  auto pre = delivery::local::pre_jail(cfg);
  if (auto st = common::pg::prepare(cfg, "local"); !st) common::log::fatal("%s", st.message().c_str());
  common::privsep::drop("local");
  return delivery::local::run(cfg, std::move(pre));
}
