// dkim: the DKIM signer. Runs as mb-dkim, the only user that can read the private keys
// (data_directory/dkim); parses nothing from the network: its one client is the remote
// agent, over spool/signer/sign, and what it reads is the queue file the remote agent
// was handed, whose envelope the queue manager validated. See dkim(8).
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "delivery/dkim/server.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("dkim", argc, argv);
  common::log::init("dkim", cfg.log_target);
  auto pre = delivery::dkim::pre_jail(cfg);
  common::privsep::drop("dkim");
  return delivery::dkim::run(cfg, std::move(pre));
}
