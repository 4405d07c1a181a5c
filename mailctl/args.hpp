// mailctl's command line, parsed into a plain struct with no I/O (unit-tested), and the
// exit codes every subcommand uses (documented in mailctl(8)).
#pragma once

#include <sysexits.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace mailctl {

// Exit codes: sysexits(3) where one fits (<sysexits.h>): EX_USAGE bad command line,
// EX_UNAVAILABLE the queue manager is not running, EX_IOERR database or file system
// error, EX_TEMPFAIL DNS lookups failed (try again), EX_NOPERM no access to the control
// socket, EX_CONFIG the configuration file cannot be used. And three of mailctl's own:
inline constexpr int kExitOk = 0;
inline constexpr int kExitProblems = 1;  // check-config or check-dns found problems
inline constexpr int kExitRefused = 2;   // bad input (invalid name, duplicate, missing): nothing changed

enum class Command {
  kHelp,
  kInit,
  kCheckConfig,
  kDomainAdd,
  kDomainDel,
  kDomainList,
  kUserAdd,
  kUserDel,
  kUserList,
  kUserPasswd,
  kUserSet,
  kUserAutoreply,
  kUserShow,
  kDomainAlias,
  kDomainSet,
  kDomainShow,
  kAliasAdd,
  kAliasDel,
  kAliasList,
  kEtrn,
  kQueueList,
  kQueueShow,
  kQueueFlush,
  kQueueDelete,
  kQueueHold,
  kQueueRelease,
  kConfigExample,
  kCheckDns,
  kDkimGenerate,
  kDkimRotate,
  kDkimRetire,
  kDkimList,
  kRelayRecipientAdd,
  kRelayRecipientDel,
  kRelayRecipientImport,
  kRelayRecipientList,
  kAtrnGrant,
  kAtrnRevoke,
  kAtrnList,
  kRuleAdd,
  kRuleDel,
  kRuleList,
  kTlsTlsa,
  kWakeup,
  kDovecotConfig,
  kTlsrptSend,
  kRoundcubeConfig,
  kDbInit,
  kDbMigrate,
  kDbExport,
  kDbImport,
};

// `user autoreply` options; unset ones keep what the record holds.
struct AutoreplyArgs {
  bool on = false;
  std::optional<std::string> subject, text, text_file, start, end, interval;
};

struct Args {
  std::string config_path;  // -c FILE; default /etc/mailbag/mailbag.conf
  Command command = Command::kHelp;
  std::string target;               // the domain, address or queue id the command acts on ("" for none)
  std::string target2;              // etrn: the domain (target is the host); domain alias: the target
  bool force = false;               // domain del --force
  bool today = false;               // tlsrpt send --today
  std::vector<std::string> values;  // alias targets; key=value settings of `set`
  AutoreplyArgs autoreply;
  std::optional<std::string> selector, algorithm;  // dkim generate/rotate --selector, --algorithm
};

// Parses the arguments after the program name. A usage error carries the message to
// print before the usage text.
common::Result<Args> parse_args(const std::vector<std::string>& argv);
std::string usage();

// The arguments of mailctl run under the name `program` (the last part of argv[0]):
// as mailq (the link make install puts where programs look for it) it lists the queue,
// "mailq [-c file]" being "mailctl [-c file] queue list"; otherwise `argv` as it is.
std::vector<std::string> args_for_program(std::string_view program, std::vector<std::string> argv);

}  // namespace mailctl
