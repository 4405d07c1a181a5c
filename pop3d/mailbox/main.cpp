// pop3-mailbox: the POP3 mailbox process. Runs as mb-pop3mbox with groups mb-mail (the
// Maildirs) and mb-auth (to redeem login tokens with the authentication daemon). It has
// no network socket: as root it only creates private/pop3-mailbox (0660, group mb-pop3d,
// and SO_PEERCRED: only pop3d's user and root are served), then drops privileges for
// good. A client reaches it only through pop3d after a good login, and it opens only the
// Maildir that the authentication daemon names for that login's token.
#include <sysexits.h>

#include "common/check.hpp"
#include "common/config/config.hpp"
#include "common/config/reload.hpp"
#include "common/io/event.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/layout.hpp"
#include "pop3d/mailbox/server.hpp"

namespace {

namespace log = common::log;

common::io::UniqueFd listen_mailbox(const common::spool::Layout& layout, pop3d::HandoverPolicy* policy) {
  gid_t gid = static_cast<gid_t>(-1);
  policy->enforce = common::privsep::running_as_root();
  if (policy->enforce) {
    const auto* id = common::privsep::identity_for("pop3d");
    MB_CHECK(id != nullptr, "pop3d has an identity");
    auto g = common::privsep::group_id(id->primary_group);
    auto uid = common::privsep::user_id(id->user);
    if (!g) log::fatal("%s (run mailctl init)", g.message().c_str());
    if (!uid) log::fatal("%s (run mailctl init)", uid.message().c_str());
    gid = *g;
    policy->uids = {0, *uid};
  }
  auto s = common::ipc::listen_unix(layout.pop3_mailbox_socket(), 0660, gid);
  if (!s) log::fatal("%s", s.message().c_str());
  return std::move(*s);
}

}  // namespace

int main(int argc, char** argv) {
  auto cfg = common::config::load_or_exit("pop3-mailbox", argc, argv);
  log::init("pop3-mailbox", cfg.log_target);
  common::spool::fault::init_from_env();
  common::spool::Layout layout(cfg);
  pop3d::HandoverPolicy policy;
  auto listener = listen_mailbox(layout, &policy);
  common::privsep::drop("pop3-mailbox");

  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  // Its keys are read where they are used: a reload needs no hook.
  common::config::Reloader reloader(base.get(), &cfg, "pop3-mailbox");
  int rc = 0;
  {
    pop3d::mailbox::Server server(cfg, base.get(), std::move(listener), std::move(policy));
    if (auto st = server.start(); !st) {
      log::error("%s", st.message().c_str());
      return EX_OSERR;
    }
    log::info("started");
    if (event_base_dispatch(base.get()) < 0) rc = EX_OSERR;
  }
  log::info("stopped");
  return rc;
}
