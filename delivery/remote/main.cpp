// remote: the SMTP delivery agent. Runs as mb-remote (no shared groups: it reads no
// database and no Maildir). Connects to the queue manager at spool/private/remote and
// receives Deliver requests with a read-only fd of the queue file; makes outgoing
// TCP connections (port 25, or the relayhost's) and DNS queries. Reads the relayhost
// credentials file as root before the drop. Trusts the queue manager for what to send;
// everything from the network is parsed as hostile.
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "delivery/remote/server.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("remote", argc, argv);
  common::log::init("remote", cfg.log_target);
  auto pre = delivery::remote::pre_jail(cfg);
  common::privsep::drop("remote");
  return delivery::remote::run(cfg, std::move(pre));
}
