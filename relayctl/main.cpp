// relayctl: the administrator's tool for the POP-before-SMTP relay database
// (data_directory/relay.mdb), with vsmtprelay's commands; meant for cron
// (`15 3 * * * relayctl expire 1440`). Run by root, it becomes mb-pop3d:mb-relay (the
// database's owner) before it opens anything: the lock file is shared with the daemons.
// Run by anyone else, it acts as its caller. Touches only relay.mdb and its lock file. Exit statuses: see
// cli.hpp and relayctl(8).
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/io/fdio.hpp"
#include "common/pg/backend.hpp"
#include "common/privsep/as_user.hpp"
#include "common/relaydb/relaydb.hpp"
#include "common/spool/layout.hpp"
#include "relayctl/cli.hpp"

namespace {

common::Result<std::string> read_stdin() {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return common::Status::sys("read");
    if (n == 0) return text;
    if (text.size() + static_cast<std::size_t>(n) > (256u << 20))
      return common::Status::error("input larger than 256 MiB");
    text.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string conf = common::config::kDefaultPath;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (args.empty() && a == "-c" && i + 1 < argc) {
      conf = argv[++i];
    } else if (args.empty() && (a == "-h" || a == "--help")) {
      std::fputs(relayctl::usage().c_str(), stdout);
      return relayctl::kExitOk;
    } else {
      args.push_back(std::move(a));
    }
  }
  auto cfg = common::config::load(conf);
  if (!cfg) {
    std::fprintf(stderr, "relayctl: %s\n", cfg.message().c_str());
    return relayctl::kExitError;
  }
  relayctl::Context ctx;
  ctx.db_path = common::spool::Layout(*cfg).relay_db();
  ctx.now = std::time(nullptr);
  ctx.lifetime = cfg->relay_lifetime;
  ctx.become_owner = [&ctx] {
    MB_TRY(common::relaydb::precreate(ctx.db_path));
    return common::privsep::become({common::relaydb::kOwner, common::relaydb::kGroup});
  };
  if (common::pg::enabled(*cfg)) {
    if (auto st = common::pg::prepare(*cfg, "relayctl"); !st) {
      std::fprintf(stderr, "relayctl: %s\n", st.message().c_str());
      return relayctl::kExitError;
    }
    ctx.open_store = [&cfg] {
      return common::pg::open_relay(*cfg, "", common::relaydb::RelayDb::Mode::kWrite);
    };
  }
  relayctl::Output out;
  int code = relayctl::run(args, ctx, out, read_stdin);
  std::fputs(out.out.c_str(), stdout);
  std::fputs(out.err.c_str(), stderr);
  if (std::fflush(stdout) != 0) {
    std::perror("relayctl: stdout");
    return relayctl::kExitError;
  }
  return code;
}
