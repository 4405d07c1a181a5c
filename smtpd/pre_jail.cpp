// What smtpd opens as root before it drops its privileges (pre_jail: the TLS
// certificate, the listening sockets of each kind, the drop directory, the SRS key),
// and the databases it opens right after, as its own user (open_databases); see
// server.hpp.
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "common/io/fdio.hpp"
#include "common/io/listener.hpp"
#include "common/log/log.hpp"
#include "common/mail/srs.hpp"
#include "common/pg/backend.hpp"
#include "smtpd/server.hpp"

namespace smtpd {
namespace {

namespace log = common::log;
using common::Status;
using common::io::UniqueFd;

[[noreturn]] void die(int code, const std::string& msg) {
  log::error("%s", msg.c_str());
  std::exit(code);
}

// Appends a listener of kind `kind` for every address of `spec`.
Status bind_listen(const std::string& spec, Port kind, std::vector<Listener>* out) {
  std::vector<UniqueFd> fds;
  MB_TRY(common::io::bind_listeners(spec, &fds));
  for (auto& fd : fds) out->push_back(Listener{std::move(fd), kind});
  return Status::ok();
}

}  // namespace

PreJail pre_jail(const common::config::Config& cfg) {
  PreJail pre;
  common::spool::Layout layout(cfg);
  // The network lists were checked by the config parser; a failure here is a bug.
  MB_CHECK(common::net::NetworkList::parse(cfg.relay_networks).is_ok(), "relay_networks");
  MB_CHECK(common::net::NetworkList::parse(cfg.etrn_networks).is_ok(), "etrn_networks");
  if (!cfg.tls_cert_file.empty() || !cfg.tls_key_file.empty()) {
    if (cfg.tls_cert_file.empty() || cfg.tls_key_file.empty())
      die(EX_CONFIG, "tls_cert_file and tls_key_file must be set together");
    auto tls = common::tls::ServerTls::open(cfg, "smtpd");
    if (!tls) die(EX_CONFIG, "TLS: " + tls.message());
    pre.tls = std::move(*tls);
  }
  for (const auto& spec : cfg.smtp_listen) {
    Status st = bind_listen(spec, Port::kMx, &pre.listeners);
    if (!st) die(EX_OSERR, st.message());
  }
  for (const auto& spec : cfg.submission_listen) {
    Status st = bind_listen(spec, Port::kSubmission, &pre.listeners);
    if (!st) die(EX_OSERR, st.message());
  }
  if (!cfg.submission_listen.empty() && !pre.tls)
    log::warn(
        "submission_listen without tls_cert_file: AUTH is never offered, so only "
        "relay_networks and POP-before-SMTP clients can submit there");
  if (pre.tls) {
    for (const auto& spec : cfg.odmr_listen) {
      Status st = bind_listen(spec, Port::kOdmr, &pre.listeners);
      if (!st) die(EX_OSERR, st.message());
    }
  } else if (!cfg.odmr_listen.empty()) {
    log::warn("odmr_listen ignored: no tls_cert_file, and ATRN needs AUTH, which is offered only over TLS");
  }
  if (pre.tls) {
    for (const auto& spec : cfg.submissions_listen) {
      Status st = bind_listen(spec, Port::kSubmissions, &pre.listeners);
      if (!st) die(EX_OSERR, st.message());
    }
  } else if (!cfg.submissions_listen.empty()) {
    log::info("submissions_listen ignored: no tls_cert_file, so no implicit TLS");
  }
  if (pre.listeners.empty())
    die(EX_CONFIG, "smtp_listen, submission_listen and submissions_listen are empty: nothing to serve");
  auto dir = common::io::open_dir(layout.incoming());
  if (!dir) die(EX_CANTCREAT, "drop directory: " + dir.message());
  pre.incoming = std::move(*dir);
  // The SRS key, to refuse forged SRS recipients at RCPT. Only root can read the file
  // (mailctl init); like the local agent, smtpd reads it now and keeps it in memory.
  auto secret = common::mail::srs::load_secret(layout.srs_secret());
  if (secret)
    pre.srs_secret = std::move(*secret);
  else
    log::warn("SRS secret: %s (SRS recipients are deferred; run mailctl init, then restart smtpd)",
              secret.message().c_str());
  return pre;
}

void open_databases(const common::config::Config& cfg, PreJail* pre) {
  common::spool::Layout layout(cfg);
  auto acc = common::pg::open_accounts(cfg, false);
  if (acc) {
    pre->accounts = std::move(*acc);
  } else {
    // Not fatal: recipients get 451 until the database can be opened.
    log::warn("accounts database %s: %s (recipients are deferred until it opens)",
              layout.accounts_db().c_str(), acc.message().c_str());
  }
  if (cfg.pop_before_smtp && (common::pg::enabled(cfg) || ::access(layout.relay_db().c_str(), F_OK) == 0)) {
    auto r = common::pg::open_relay(cfg, layout.relay_db(), common::relaydb::RelayDb::Mode::kRead);
    if (r)
      pre->relay = std::move(*r);
    else
      log::warn("relay database %s: %s (retried when needed)", layout.relay_db().c_str(),
                r.message().c_str());
  }
}

}  // namespace smtpd
