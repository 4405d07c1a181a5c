// pop3d: the POP3 server (RFC 1939, CAPA, STLS, AUTH PLAIN) on pop3_listen and, with
// implicit TLS, pop3s_listen. Runs as mb-pop3d with groups mb-mail (the Maildirs),
// mb-auth (to ask the authentication daemon, mailbag-auth, which alone reads the password
// hashes) and mb-relay (relay.mdb, written at each login when pop_before_smtp is on). Trusts nothing from the
// network; a session may read and delete only the Maildir of the account whose password it gave.
#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/spool/fault.hpp"
#include "pop3d/server.hpp"

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("pop3d", argc, argv);
  common::log::init("pop3d", cfg.log_target);
  common::spool::fault::init_from_env();
  auto pre = pop3d::pre_jail(cfg);
  common::privsep::drop("pop3d");
  pop3d::open_databases(cfg, &pre);
  return pop3d::run(cfg, std::move(pre));
}
