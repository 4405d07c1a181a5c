// smtpd: the ESMTP server. Runs as mb-smtpd (groups mb-drop, mb-acct, mb-auth, mb-relay).
// As root it only binds the smtp_listen, submission_listen and submissions_listen ports,
// opens spool/incoming and the TLS key, then drops privileges for good and opens
// accounts.mdb and relay.mdb as mb-smtpd. AUTH asks the authentication daemon over
// spool/private/auth (group mb-auth): smtpd cannot read the password hashes. Talks to clients on the network
// (untrusted) and to the queue manager over spool/private/submit (trusted to answer). See smtpd(8).
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/drop.hpp"
#include "common/spool/fault.hpp"
#include "smtpd/server.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("smtpd", argc, argv);
  common::log::init("smtpd", cfg.log_target);
  common::spool::fault::init_from_env();
  auto pre = smtpd::pre_jail(cfg);  // bind sockets, open drop dir, TLS key
  if (auto st = common::pg::prepare(cfg, "smtpd"); !st) common::log::fatal("%s", st.message().c_str());
  common::privsep::drop("smtpd");
  smtpd::open_databases(cfg, &pre);  // as mb-smtpd: root never opens a daemon-writable lock file
  return smtpd::run(cfg, std::move(pre));
}
