// checks: the built-in inbound checks of smtpd (DNS lists, SPF, DKIM, DMARC). Runs as
// mb-checks, which holds no secret and may write neither the queue nor a mailbox: it
// parses untrusted DNS answers and message content. As root it only binds
// spool/private/checks (mode 0660, group of smtpd's user) and reads the Public Suffix
// List, then drops privileges for good. smtpd asks it over that socket; the queue files
// it reads come as read-only descriptors. See checks(8).
#include <sysexits.h>

#include "common/config/config.hpp"
#include "common/config/reload.hpp"
#include "common/io/event.hpp"
#include "common/io/fdio.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "common/spool/layout.hpp"
#include "smtpd/checks/message_checks.hpp"
#include "smtpd/checks/server.hpp"

namespace log = common::log;

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("checks", argc, argv);
  log::init("checks", cfg.log_target);
  checks::PublicSuffixList psl;
  if (auto text = common::io::read_file(checks::kPublicSuffixFile)) {
    psl.load(*text);
  } else {
    log::warn("no Public Suffix List (%s): organizational domains are the last two labels",
              text.message().c_str());
  }
  auto dns = checks::Dns::create(cfg.dns_resolver);
  if (!dns) {
    log::error("DNS: %s", dns.message().c_str());
    return EX_CONFIG;
  }
  if (auto st = checks::init_message_checks(); !st) {
    log::error("%s", st.message().c_str());
    return EX_SOFTWARE;
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (common::privsep::running_as_root()) {
    const auto* smtpd = common::privsep::identity_for("smtpd");
    auto g = common::privsep::group_id(smtpd->primary_group);
    if (!g) {
      log::error("%s (run mailctl init)", g.message().c_str());
      return EX_NOUSER;
    }
    gid = *g;
  }
  common::spool::Layout layout(cfg);
  const std::string checks_path = layout.private_dir() + "/checks";
  auto sock = common::ipc::listen_unix(checks_path, 0660, gid);
  if (!sock) {
    log::error("%s: %s", checks_path.c_str(), sock.message().c_str());
    return EX_CANTCREAT;
  }
  common::privsep::drop("checks");

  auto settings = checks::settings_from(cfg);
  checks::DnsblCache cache;
  checks::Context ctx{settings, **dns, psl, cache};
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  checks::Server server(base.get(), ctx, std::move(*sock));
  common::config::Reloader reloader(base.get(), &cfg, "checks");
  reloader.on_reload([&](const common::config::Config&) { server.set_settings(checks::settings_from(cfg)); });
  if (auto st = server.start(); !st) {
    log::error("%s", st.message().c_str());
    return EX_OSERR;
  }
  log::info("started");
  int rc = event_base_dispatch(base.get()) < 0 ? EX_OSERR : 0;
  log::info("stopped");
  return rc;
}
