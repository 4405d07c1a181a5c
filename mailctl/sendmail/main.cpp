// sendmail: local mail submission for cron, mail(1) and scripts. Installed set-group-ID
// mb-drop, it runs as its caller with just that group: it may create a file in
// spool/incoming and talk to the queue manager on spool/private/submit, nothing more.
// It trusts nothing from the caller: the environment is cleared, the configuration is
// the compiled default (see run.hpp), and the message and addresses are checked. Exit
// codes are sysexits(3). See sendmail(8).
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/spool/queue_id.hpp"
#include "mailctl/sendmail/run.hpp"

namespace {

constexpr int kQueueManagerTimeoutMs = 60 * 1000;

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "sendmail: %s\n", msg.c_str());
  common::log::warn("uid %lu: %s", static_cast<unsigned long>(::getuid()), msg.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  sendmail::harden();
  common::log::init("sendmail", common::log::Target::kSyslog);
  std::string prog = argv[0] ? argv[0] : "sendmail";
  prog = prog.substr(prog.rfind('/') == std::string::npos ? 0 : prog.rfind('/') + 1);
  auto opts = sendmail::parse_options(prog, std::vector<std::string>(argv + (argc > 0), argv + argc));
  if (!opts) return fail(EX_USAGE, opts.message() + " (see sendmail(8))");
  if (opts->mode == sendmail::Mode::kNewAliases) {
    std::fprintf(stderr, "sendmail: aliases live in the accounts database (mailctl); nothing to rebuild\n");
    return EX_OK;
  }
  auto path = sendmail::config_path(*opts);
  if (!path) return fail(EX_USAGE, path.message());
  auto cfg = common::config::load(*path);
  if (!cfg) return fail(EX_CONFIG, cfg.message());
  auto who = sendmail::caller();
  if (!who) return fail(EX_NOUSER, who.message());

  sendmail::MessageReader reader(opts->ignore_dots, static_cast<std::uint64_t>(cfg->message_size_limit));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(EX_OSERR, std::string("reading the message: ") + std::strerror(errno));
    if (n == 0 || !reader.feed(std::string_view(buf, static_cast<std::size_t>(n)))) break;
  }
  reader.finish();
  if (reader.too_big())
    return fail(EX_DATAERR, "message larger than message_size_limit (" +
                                std::to_string(cfg->message_size_limit) + " bytes)");
  if (reader.nul()) return fail(EX_DATAERR, "the message contains a NUL character");

  sendmail::Prepared p;
  std::string id = common::spool::new_queue_id();
  auto r =
      sendmail::prepare(*opts, *cfg, *who, reader.text(), static_cast<std::int64_t>(::time(nullptr)), id, &p);
  if (r.code != EX_OK) return fail(r.code, r.error);
  common::spool::Layout layout(*cfg);
  auto s = sendmail::submit(layout, p.env, p.text, kQueueManagerTimeoutMs);
  if (s.code != EX_OK) return fail(s.code, s.error);
  common::maillog::received(id, p.env.sender, p.text.size(), p.env.recipients.size(), p.env.client);
  return EX_OK;
}
