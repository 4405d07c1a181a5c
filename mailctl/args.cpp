// Implementation of mailctl's command-line parsing (see args.hpp).
#include "mailctl/args.hpp"

#include "common/config/config.hpp"

namespace mailctl {

using common::Status;

std::string usage() {
  return "usage: mailctl [-c config-file] command [arguments]\n"
         "commands:\n"
         "  init                      create users, groups, directories and databases\n"
         "  check-config              check the configuration file\n"
         "  domain add DOMAIN         add a mail domain\n"
         "  domain del [--force] DOMAIN  remove a domain (--force: with its users)\n"
         "  domain list               list the domains\n"
         "  user add ADDRESS          add a user (password from standard input or prompt)\n"
         "  user del ADDRESS          remove a user (the Maildir is kept)\n"
         "  user list [DOMAIN]        list users, of one domain or all\n"
         "  user passwd ADDRESS       set a user's password\n"
         "  etrn HOST DOMAIN          ask the mail server HOST[:PORT] to send DOMAIN's mail now\n";
}

common::Result<Args> parse_args(const std::vector<std::string>& argv) {
  Args a;
  a.config_path = common::config::kDefaultPath;
  std::vector<std::string> rest;
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (!options_done && rest.empty() && s == "-c") {
      if (i + 1 >= argv.size()) return Status::error("-c needs a file name");
      a.config_path = argv[++i];
    } else if (!options_done && (s == "-h" || s == "--help")) {
      a.command = Command::kHelp;
      return a;
    } else if (!options_done && s == "--force") {
      a.force = true;
    } else if (!options_done && s == "--") {
      options_done = true;
    } else if (!options_done && s.size() > 1 && s[0] == '-') {
      return Status::error("unknown option '" + s + "'");
    } else {
      rest.push_back(s);
    }
  }
  if (rest.empty()) return Status::error("no command given");
  auto want = [&](std::size_t min, std::size_t max) -> Status {
    if (rest.size() < min) return Status::error("'" + rest[0] + (rest.size() > 1 ? " " + rest[1] : "") + "' needs an argument");
    if (rest.size() > max) return Status::error("unexpected argument '" + rest[max] + "'");
    return Status::ok();
  };
  const std::string& c = rest[0];
  std::string sub = rest.size() > 1 ? rest[1] : "";
  if (c == "help") {
    a.command = Command::kHelp;
  } else if (c == "init") {
    if (auto st = want(1, 1); !st) return st;
    a.command = Command::kInit;
  } else if (c == "check-config") {
    if (auto st = want(1, 1); !st) return st;
    a.command = Command::kCheckConfig;
  } else if (c == "domain") {
    if (sub == "add" || sub == "del") {
      if (auto st = want(3, 3); !st) return st;
      a.command = sub == "add" ? Command::kDomainAdd : Command::kDomainDel;
      a.target = rest[2];
    } else if (sub == "list") {
      if (auto st = want(2, 2); !st) return st;
      a.command = Command::kDomainList;
    } else {
      return Status::error(sub.empty() ? "'domain' needs add, del or list" : "unknown command 'domain " + sub + "'");
    }
  } else if (c == "user") {
    if (sub == "add" || sub == "del" || sub == "passwd") {
      if (auto st = want(3, 3); !st) return st;
      a.command = sub == "add" ? Command::kUserAdd : sub == "del" ? Command::kUserDel : Command::kUserPasswd;
      a.target = rest[2];
    } else if (sub == "list") {
      if (auto st = want(2, 3); !st) return st;
      a.command = Command::kUserList;
      if (rest.size() == 3) a.target = rest[2];
    } else {
      return Status::error(sub.empty() ? "'user' needs add, del, list or passwd" : "unknown command 'user " + sub + "'");
    }
  } else if (c == "etrn") {
    if (auto st = want(3, 3); !st) return st;
    a.command = Command::kEtrn;
    a.target = rest[1];
    a.target2 = rest[2];
  } else {
    return Status::error("unknown command '" + c + "'");
  }
  if (a.force && a.command != Command::kDomainDel) return Status::error("--force only goes with 'domain del'");
  return a;
}

}  // namespace mailctl
