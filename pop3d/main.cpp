// pop3d: the POP3 login process (RFC 1939 AUTHORIZATION, CAPA, STLS, AUTH PLAIN) on
// pop3_listen and, with implicit TLS, pop3s_listen. Runs as mb-pop3d with groups mb-auth
// (to ask the authentication daemon, mailbag-auth, which alone reads the password hashes)
// and mb-relay (relay.mdb, written at each login when pop_before_smtp is on); no access
// to any Maildir. Trusts nothing from the network; a good login is handed with the
// daemon's one-time token to the mailbox process (pop3d/mailbox), which opens only the
// Maildir of that account.
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/drop.hpp"
#include "common/spool/fault.hpp"
#include "pop3d/server.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("pop3d", argc, argv);
  common::log::init("pop3d", cfg.log_target);
  common::spool::fault::init_from_env();
  auto pre = pop3d::pre_jail(cfg);
  if (auto st = common::pg::prepare(cfg, "pop3d"); !st) common::log::fatal("%s", st.message().c_str());
  common::privsep::drop("pop3d");
  pop3d::open_databases(cfg, &pre);
  return pop3d::run(cfg, std::move(pre));
}
