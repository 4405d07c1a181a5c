// mailbag-tlskey: the TLS key daemon, the only process that holds the TLS private key.
// smtpd and pop3d send it the private-key step of each TLS handshake (KeyOp on
// private/tlskey, common/tls/remote_key.hpp) instead of reading the key, as OpenSMTPD's
// ca process does for its smtpd. Runs as mb-tlskey with no network socket; as root it
// only reads the key and creates private/tlskey (0660, group mb-auth: smtpd and pop3d),
// then drops privileges for good. SIGHUP re-reads the key, which its user must then be
// able to read. See mailbag-tlskey(8).
#include <sysexits.h>
#include <unistd.h>

#include <cstdlib>

#include "common/auth/daemon_socket.hpp"
#include "common/auth/protocol.hpp"
#include "common/config/config.hpp"
#include "common/config/reload.hpp"
#include "common/io/event.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/spool/layout.hpp"
#include "common/tls/key_protocol.hpp"
#include "common/tlskey/server.hpp"

namespace log = common::log;

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("mailbag-tlskey", argc, argv);
  log::init("mailbag-tlskey", cfg.log_target);
  if (!cfg.tls_key_daemon || cfg.tls_key_file.empty()) {
    // Nothing to hold: smtpd and pop3d read the key themselves, or there is no TLS.
    log::info("%s: nothing to do, exiting", !cfg.tls_key_daemon ? "tls_key_daemon = no" : "no tls_key_file");
    return 0;
  }
  common::spool::Layout layout(cfg);
  // The key first, as root (it may be root's alone), then the socket.
  tlskey::Signer signer;
  if (common::Status st = signer.load(cfg.tls_key_file); !st) {
    log::error("%s", st.message().c_str());
    return EX_CONFIG;
  }
  common::auth::PeerPolicy policy;
  auto listener = common::auth::listen_for_daemons(layout.tlskey_socket(), &policy);
  common::privsep::drop("mailbag-tlskey");
  if (::access(cfg.tls_key_file.c_str(), R_OK) != 0)
    log::warn(
        "%s is not readable by this daemon's user: a reload (SIGHUP) cannot re-read it; "
        "to allow it: chgrp mb-tlskey %s; chmod 0640 %s",
        cfg.tls_key_file.c_str(), cfg.tls_key_file.c_str(), cfg.tls_key_file.c_str());

  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  common::config::Reloader reloader(base.get(), &cfg, "mailbag-tlskey");
  int rc = 0;
  {
    std::string what = signer.describe(), id = common::tls::short_id(signer.key_id());
    tlskey::Server server(base.get(), std::move(listener), std::move(policy), cfg.tls_key_file,
                          std::move(signer));
    reloader.on_reload([&server](const common::config::Config&) { server.reload(); });
    if (auto st = server.start(); !st) {
      log::error("%s", st.message().c_str());
      return EX_OSERR;
    }
    log::info("started: %s key %s from %s", what.c_str(), id.c_str(), cfg.tls_key_file.c_str());
    if (event_base_dispatch(base.get()) < 0) rc = EX_OSERR;
  }
  log::info("stopped");
  return rc;
}
