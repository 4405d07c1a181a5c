// mailbag-auth: the authentication daemon. It lives under common/ because it is a
// service of the common layer rather than a mail protocol of its own: smtpd (AUTH),
// pop3d (USER/PASS) and Dovecot's IMAP logins (its passdb program mailbag-checkpassword,
// pop3d/checkpassword/) ask it.
// Runs as mb-authd (primary group mb-authd, which alone can read passwd.mdb; mb-acct for
// accounts.mdb; mb-relay to stamp relay.mdb for IMAP logins). As root it only creates private/auth (0660,
// group mb-auth: smtpd, pop3d and the POP3 mailbox process), then drops privileges for good and opens the
// databases. It has no network socket; the frames of private/auth are the only input it parses. See
// mailbag-auth(8).
#include <sysexits.h>

#include <cstdlib>

#include "common/accounts/accounts.hpp"
#include "common/accounts/passwd.hpp"
#include "common/auth/daemon_socket.hpp"
#include "common/auth/protocol.hpp"
#include "common/authd/server.hpp"
#include "common/authd/verifier.hpp"
#include "common/config/config.hpp"
#include "common/config/reload.hpp"
#include "common/io/event.hpp"
#include "common/log/log.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "common/spool/layout.hpp"

namespace {

namespace log = common::log;

// The socket, and who may use it, while still root: smtpd and pop3d check passwords
// (daemon_socket.hpp); the lists below are this daemon's own.
common::io::UniqueFd listen_auth(const common::spool::Layout& layout, common::auth::PeerPolicy* policy) {
  auto fd = common::auth::listen_for_daemons(layout.auth_socket(), policy);
  if (policy->enforce) {
    // Login tokens are redeemed by the POP3 mailbox process alone (and root's tools).
    policy->redeem_uids.push_back(0);
    if (common::privsep::identity_for("pop3-mailbox"))
      policy->redeem_uids.push_back(common::auth::program_uid_or_exit("pop3-mailbox"));
    // IMAP logins are asked by Dovecot's passdb program alone (and root's tools). Its
    // user exists once mailctl init ran in this version; until then, no IMAP checker.
    policy->imap_uids.push_back(0);
    if (const auto* id = common::privsep::identity_for("mailbag-checkpassword")) {
      if (auto uid = common::privsep::user_id(id->user))
        policy->imap_uids.push_back(*uid);
      else
        log::warn("%s: IMAP logins refused (run mailctl init)", uid.message().c_str());
    }
  }
  return fd;
}

// IMAP logins share pop3d's failure limit (each login is a new process, so it is kept here).
common::io::ClientLimits::Settings imap_limits(const common::config::Config& cfg) {
  return common::io::ClientLimits::Settings{0,
                                            0,
                                            cfg.pop3d_auth_failure_limit,
                                            cfg.pop3d_auth_block_time,
                                            static_cast<int>(cfg.client_ipv6_prefix_length),
                                            false};
}

}  // namespace

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("mailbag-auth", argc, argv);
  log::init("mailbag-auth", cfg.log_target);
  common::spool::Layout layout(cfg);
  common::auth::PeerPolicy policy;
  auto listener = listen_auth(layout, &policy);
  if (auto st = common::pg::prepare(cfg, "mailbag-auth"); !st) log::fatal("%s", st.message().c_str());
  common::privsep::drop("mailbag-auth");

  // As mb-authd: root never opens a database whose lock file a daemon can write.
  auto accounts = common::pg::open_accounts(cfg, false);
  if (!accounts) {
    log::error("accounts database: %s", accounts.message().c_str());
    return EX_UNAVAILABLE;
  }
  auto passwords = common::pg::open_passwords(cfg, false);
  if (!passwords) {
    log::error("password database: %s", passwords.message().c_str());
    return EX_UNAVAILABLE;
  }
  auto verifier = std::make_unique<authd::Verifier>(
      std::move(*accounts), std::move(*passwords), cfg.mail_directory,
      static_cast<std::size_t>(cfg.auth_max_checks), static_cast<std::size_t>(cfg.auth_max_waiting),
      std::chrono::seconds(cfg.postgresql_timeout));

  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  int rc = 0;
  common::config::Reloader reloader(base.get(), &cfg, "mailbag-auth");
  {
    authd::ImapGate::Settings imap;
    imap.limits = imap_limits(cfg);
    imap.pop_before_smtp = cfg.pop_before_smtp;
    imap.relay_db = layout.relay_db();
    imap.db = std::make_unique<common::pg::DbQueue>(cfg);
    if (common::pg::enabled(cfg))
      imap.open_relay = [&cfg] {
        return common::pg::open_relay(cfg, "", common::relaydb::RelayDb::Mode::kWrite);
      };
    authd::Server server(base.get(), std::move(listener), std::move(policy), std::move(verifier),
                         std::move(imap));
    reloader.on_reload([&](const common::config::Config&) { server.set_imap_limits(imap_limits(cfg)); });
    if (auto st = server.start(); !st) {
      log::error("%s", st.message().c_str());
      return EX_OSERR;
    }
    log::info("started (%lld checks at once, %lld may wait)", static_cast<long long>(cfg.auth_max_checks),
              static_cast<long long>(cfg.auth_max_waiting));
    if (event_base_dispatch(base.get()) < 0) rc = EX_OSERR;
  }
  log::info("stopped");
  return rc;
}
