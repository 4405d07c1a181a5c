// The remote agent's process (see server.hpp): settings and TLS contexts before the
// drop; after it, the resolver (libunbound reads resolv.conf when created, and needs
// nothing else), the queue-manager link, the dispatcher and the ETRN client.
#include "delivery/remote/server.hpp"

#include "common/config/reload.hpp"
#include "common/dkim/store.hpp"
#include "common/dns/resolver.hpp"
#include "common/log/log.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/layout.hpp"
#include "delivery/agent.hpp"
#include "delivery/remote/dispatcher.hpp"
#include "delivery/remote/etrn.hpp"

namespace delivery::remote {

namespace log = common::log;

PreJail pre_jail(const common::config::Config& cfg) {
  common::spool::fault::init_from_env();
  PreJail pre;
  pre.remote_socket = common::spool::Layout(cfg).remote_socket();
  auto s = make_settings(cfg, interface_addresses());
  if (!s) log::fatal("%s", s.message().c_str());
  pre.settings = std::move(*s);
  auto plain = common::tls::client_context(false);
  if (!plain) log::fatal("TLS client context: %s", plain.message().c_str());
  pre.tls_opportunistic = std::move(*plain);
  auto verify = common::tls::client_context(true, cfg.smtp_tls_ca_file);
  if (verify) {
    pre.tls_verify = std::move(*verify);
  } else if (pre.settings.tls == common::smtp::TlsPolicy::kVerify) {
    log::fatal("smtp_tls_policy = verify: %s", verify.message().c_str());
  } else if (pre.settings.relay_auth) {
    log::fatal("relayhost_auth_file needs a verified TLS connection: %s", verify.message().c_str());
  }
  if (pre.settings.dane) {
    auto dane = common::tls::dane_client_context();
    if (!dane) log::fatal("smtp_dane: %s", dane.message().c_str());
    pre.tls_dane = std::move(*dane);
  }
  return pre;
}

int run(common::config::Config& cfg, PreJail pre) {
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  common::config::Reloader reloader(base.get(), &cfg, "remote");
  auto resolver =
      common::dns::Resolver::create(base.get(), pre.settings.dns_resolver, pre.settings.trust_anchor);
  if (!resolver) log::fatal("DNS resolver: %s", resolver.message().c_str());
  TlsContexts tls{pre.tls_opportunistic.get(), pre.tls_verify.get(), pre.tls_dane.get()};

  Dispatcher* dispatcher = nullptr;
  AgentLink link(base.get(), pre.remote_socket, "remote",
                 [&dispatcher](common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t gen) {
                   dispatcher->deliver(std::move(d), std::move(fd), gen);
                 });
  common::spool::Layout layout(cfg);
  Signer signer(base.get(), layout.dkim_keys() + "/" + common::dkim::kKeysFile, layout.sign_socket());
  std::unique_ptr<StsResolver> sts;
  if (pre.settings.mta_sts)
    sts = std::make_unique<StsResolver>(base.get(), **resolver, tls.verify, pre.settings.sts_cache,
                                        pre.settings.sts_fetch_timeout());
  std::unique_ptr<TlsReporter> reporter;
  if (pre.settings.tls_report) reporter = std::make_unique<TlsReporter>(pre.settings.tls_report_dir);
  Dispatcher d(base.get(), pre.settings, **resolver, tls, link, &signer, sts.get(), reporter.get());
  dispatcher = &d;
  link.set_turn_handler([&d](common::ipc::Turn t, common::io::UniqueFd fd, std::uint64_t gen) {
    d.turn(std::move(t), std::move(fd), gen);
  });
  EtrnClient etrn(base.get(), pre.settings, **resolver, tls);
  reloader.on_reload([&](const common::config::Config&) {
    auto fresh = make_settings(cfg, interface_addresses(), false);
    if (!fresh) {
      log::error("reload: %s; remote keeps its settings", fresh.message().c_str());
      return;
    }
    apply_reload(&pre.settings, *fresh);
    etrn.reconfigure();
  });

  if (pre.settings.relayhost)
    log::info("started; relayhost %s%s", pre.settings.relayhost->str().c_str(),
              pre.settings.relay_auth ? " with AUTH" : "");
  else
    log::info("started");
  if (pre.settings.dane) log::info("DANE on: DNSSEC validated from %s", pre.settings.trust_anchor.c_str());
  if (sts && !tls.verify)
    log::warn("MTA-STS: no CA store to verify certificates with: every policy fetch fails");
  link.start();
  etrn.start();
  event_base_dispatch(base.get());
  log::info("stopped");
  return 0;
}

}  // namespace delivery::remote
