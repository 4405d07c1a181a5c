// mailctl's dispatcher: arguments -> configuration -> subcommand. main() only supplies
// the real streams and whether we are root; tests call run() with their own.
#include <sysexits.h>

#include "common/config/config.hpp"
#include "common/io/fdio.hpp"
#include "common/pg/backend.hpp"
#include "mailctl/as_owner.hpp"
#include "mailctl/check_dns.hpp"
#include "mailctl/commands.hpp"
#include "mailctl/db.hpp"
#include "mailctl/dkim.hpp"
#include "mailctl/dovecot.hpp"
#include "mailctl/etrn.hpp"
#include "mailctl/init.hpp"
#include "mailctl/queue.hpp"
#include "mailctl/roundcube.hpp"
#include "mailctl/tlsa.hpp"
#include "mailctl/tlsrpt.hpp"

namespace mailctl {
namespace {
// A command that reads or writes accounts.mdb or passwd.mdb (as their owner when root).
int database_command(Context& ctx, const Args& a);

constexpr std::size_t kMaxImport = 64u << 20;

common::Result<std::string> read_all(std::FILE* in, std::size_t max) {
  std::string out;
  char buf[65536];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, in)) {
    out.append(buf, n);
    if (out.size() > max)
      return common::Status::error("standard input larger than " + std::to_string(max) + " bytes");
  }
  if (std::ferror(in)) return common::Status::sys("read standard input");
  return out;
}
}  // namespace

int run(const std::vector<std::string>& argv, bool as_root, std::FILE* in, std::FILE* out, std::FILE* err) {
  auto args = parse_args(argv);
  if (!args) {
    std::fprintf(err, "mailctl: %s\n%s", args.message().c_str(), usage().c_str());
    return EX_USAGE;
  }
  if (args->command == Command::kHelp) {
    std::fputs(usage().c_str(), out);
    return kExitOk;
  }
  if (args->command == Command::kCheckConfig) return cmd_check_config(args->config_path, out);
  if (args->command == Command::kConfigExample) {  // for make install: needs no configuration
    std::fputs(common::config::example().c_str(), out);
    return kExitOk;
  }
  auto cfg = common::config::load(args->config_path);
  if (!cfg) {
    std::fprintf(err, "mailctl: %s\n", cfg.message().c_str());
    return EX_CONFIG;
  }
  Context ctx{std::move(*cfg), as_root, in, out, err};
  switch (args->command) {
    case Command::kInit: return cmd_init(ctx);
    case Command::kEtrn: return cmd_etrn(ctx, args->target, args->target2);
    case Command::kQueueList: return cmd_queue_list(ctx);
    case Command::kQueueShow: return cmd_queue_show(ctx, args->target);
    case Command::kQueueFlush: return cmd_queue_action(ctx, "flush", args->target);
    case Command::kQueueDelete: return cmd_queue_action(ctx, "delete", args->target);
    case Command::kQueueHold: return cmd_queue_action(ctx, "hold", args->target);
    case Command::kQueueRelease: return cmd_queue_action(ctx, "release", args->target);
    case Command::kDkimGenerate:
      return cmd_dkim_generate(ctx, args->target, {args->selector, args->algorithm});
    case Command::kDkimRotate: return cmd_dkim_rotate(ctx, args->target, {args->selector, args->algorithm});
    case Command::kDkimRetire: return cmd_dkim_retire(ctx, args->target, args->target2);
    case Command::kDkimList: return cmd_dkim_list(ctx);
    case Command::kTlsTlsa: return cmd_tls_tlsa(ctx, args->target);
    case Command::kWakeup: return cmd_wakeup(ctx);
    case Command::kDovecotConfig: return cmd_dovecot_config(ctx, args->target, args->config_path);
    case Command::kTlsrptSend: return cmd_tlsrpt_send(ctx, args->today);
    case Command::kRoundcubeConfig: return cmd_roundcube_config(ctx, args->target, args->config_path);
    case Command::kDbInit:
    case Command::kDbMigrate: return cmd_db(ctx, args->command);
    case Command::kHelp:
    case Command::kCheckConfig:
    case Command::kConfigExample: return EX_USAGE;
    default: break;
  }
  // The administrator's own file is read with the administrator's rights, before the
  // work moves to the databases' owner.
  if (args->command == Command::kUserAutoreply && args->autoreply.text_file) {
    auto t = common::io::read_file(*args->autoreply.text_file, 64 * 1024);
    if (!t) {
      complain(ctx, "--text-file: " + t.message());
      return kExitRefused;
    }
    args->autoreply.text = *t;
    args->autoreply.text_file.reset();
  }
  if (args->command == Command::kDbImport) {
    auto t =
        args->target == "-" ? read_all(ctx.in, kMaxImport) : common::io::read_file(args->target, kMaxImport);
    if (!t) {
      complain(ctx, "db import: " + t.message());
      return kExitRefused;
    }
    args->values = {std::move(*t)};
  }
  if (args->command == Command::kRelayRecipientImport) {
    auto t = args->target2 == "-" ? read_all(ctx.in, kMaxImport)
                                  : common::io::read_file(args->target2, kMaxImport);
    if (!t) {
      complain(ctx, "import: " + t.message());
      return kExitRefused;
    }
    args->values = {std::move(*t)};
  }
  // The database password (a root-only file) is read now, before the work moves on.
  if (auto st = common::pg::prepare(ctx.cfg, "mailctl"); !st) {
    complain(ctx, st.message());
    return EX_CONFIG;
  }
  return run_as_db_owner(ctx, [&] { return database_command(ctx, *args); });
}

namespace {

int database_command(Context& ctx, const Args& a) {
  const auto* args = &a;
  switch (args->command) {
    case Command::kDomainAdd: return cmd_domain_add(ctx, args->target);
    case Command::kDomainDel: return cmd_domain_del(ctx, args->target, args->force);
    case Command::kDomainList: return cmd_domain_list(ctx);
    case Command::kUserAdd: return cmd_user_add(ctx, args->target);
    case Command::kUserDel: return cmd_user_del(ctx, args->target);
    case Command::kUserList: return cmd_user_list(ctx, args->target);
    case Command::kUserPasswd: return cmd_user_passwd(ctx, args->target);
    case Command::kUserSet: return cmd_user_set(ctx, args->target, args->values);
    case Command::kUserAutoreply: return cmd_user_autoreply(ctx, args->target, args->autoreply);
    case Command::kUserShow: return cmd_user_show(ctx, args->target);
    case Command::kDomainAlias: return cmd_domain_alias(ctx, args->target, args->target2);
    case Command::kDomainSet: return cmd_domain_set(ctx, args->target, args->values);
    case Command::kDomainShow: return cmd_domain_show(ctx, args->target);
    case Command::kAliasAdd: return cmd_alias_add(ctx, args->target, args->values);
    case Command::kAliasDel: return cmd_alias_del(ctx, args->target, args->values);
    case Command::kAliasList: return cmd_alias_list(ctx, args->target);
    case Command::kCheckDns: return cmd_check_dns(ctx, args->target);
    case Command::kRelayRecipientAdd: return cmd_relay_recipient_add(ctx, args->values);
    case Command::kRelayRecipientDel: return cmd_relay_recipient_del(ctx, args->target);
    case Command::kRelayRecipientImport:
      return cmd_relay_recipient_import(ctx, args->target, args->values.empty() ? "" : args->values[0]);
    case Command::kRelayRecipientList: return cmd_relay_recipient_list(ctx, args->target);
    case Command::kAtrnGrant: return cmd_atrn_grant(ctx, args->target, args->target2);
    case Command::kAtrnRevoke: return cmd_atrn_revoke(ctx, args->target, args->target2);
    case Command::kAtrnList: return cmd_atrn_list(ctx, args->target);
    case Command::kRuleAdd: return cmd_rule_add(ctx, args->values);
    case Command::kRuleDel: return cmd_rule_del(ctx, args->values);
    case Command::kRuleList: return cmd_rule_list(ctx);
    case Command::kDbExport: return cmd_db_export(ctx);
    case Command::kDbImport: return cmd_db_import(ctx, args->values.empty() ? "" : args->values[0]);
    default: break;
  }
  return EX_USAGE;
}

}  // namespace
}  // namespace mailctl
