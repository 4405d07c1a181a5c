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
         "  user set ADDRESS KEY=VALUE...  quota=SIZE|none forward=ADDR,...|none keep-copy=yes|no\n"
         "                            disabled=yes|no junk-folder=yes|no\n"
         "  user autoreply ADDRESS on|off [--subject S] [--text T | --text-file F]\n"
         "                            [--start DATE] [--end DATE] [--interval DAYS]\n"
         "  user show ADDRESS         everything about a user\n"
         "  domain alias ALIAS DOMAIN make ALIAS a domain alias of DOMAIN\n"
         "  domain set DOMAIN KEY=VALUE...  catchall=ADDR|none quota=SIZE|none\n"
         "                            max-size=SIZE|none max-recipients=N|none\n"
         "  domain show DOMAIN        a domain's settings\n"
         "  alias add ADDRESS TARGET...  create an alias, or add targets to it\n"
         "  alias del ADDRESS [TARGET...]  remove an alias, or some of its targets\n"
         "  alias list [DOMAIN]       list aliases, of one domain or all\n"
         "  etrn HOST DOMAIN          ask the mail server HOST[:PORT] to send DOMAIN's mail now\n"
         "  queue list                the queue, like mailq\n"
         "  queue show ID             one message: envelope, delivery state, header\n"
         "  queue flush [ID]          deliver deferred messages (or one) now\n"
         "  queue delete|hold|release ID  remove, hold or release one message\n"
         "  check-dns DOMAIN          MX, addresses, reverse DNS and SPF of a domain\n"
         "  config-example            print a commented mailbag.conf with every key\n"
         "  dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519]\n"
         "                            make a domain's DKIM key; prints the DNS record\n"
         "  dkim rotate DOMAIN [--selector S] [--algorithm rsa|ed25519]\n"
         "                            a new key signs; the old one stays published\n"
         "  dkim retire DOMAIN SELECTOR  remove a key that no longer signs\n"
         "  dkim list                 every DKIM key and its DNS record\n"
         "  relay-recipient add ADDRESS...  accept these addresses of a relay domain (backup MX)\n"
         "  relay-recipient del ADDRESS|DOMAIN  remove an address, or a domain's whole list\n"
         "  relay-recipient import DOMAIN FILE|-  make DOMAIN's list the file's addresses\n"
         "  relay-recipient list [DOMAIN]  list relay recipients, of one domain or all\n"
         "  atrn grant LOGIN DOMAIN   let account LOGIN pull DOMAIN's queued mail with ATRN (ODMR)\n"
         "  atrn revoke LOGIN DOMAIN  take that back\n"
         "  atrn list [LOGIN]         list the ODMR grants, of one account or all\n"

         "  rule add sender PATTERN reject|allow [DOMAIN]  refuse or allow senders (smtpd, port 25)\n"
         "  rule add client CIDR reject  refuse a client network\n"
         "  rule add word PHRASE reject|junk  refuse or file as junk mail with the phrase\n"
         "  rule add attachment-size BYTES  refuse mail with a larger attachment\n"
         "  rule del KIND PATTERN [ACTION] [DOMAIN]  remove a rule\n"
         "  rule list                 every filtering rule\n"
         "  tls tlsa [HOST]           the DANE TLSA record (3 1 1) for tls_cert_file at HOST\n"
         "  flush                     deliver all deferred mail now (as queue flush)\n"
         "  wakeup                    ask every etrn_hosts now for etrn_domains (ETRN)\n"
         "  dovecot config [DIR]      write Dovecot's IMAP configuration (default DIR: next to\n"
         "                            mailbag.conf, in dovecot/); never over files it did not write\n"
         "  tlsrpt send [--today]     mail the TLS reports (RFC 8460) of the days before today\n"
         "                            (--today: today's sessions so far too)\n"
         "  roundcube config [DIR]    write Roundcube's webmail configuration (default DIR: next to\n"
         "                            mailbag.conf, in roundcube/); never over files it did not write\n"
         "  db init                   create the PostgreSQL schema and roles (accounts_backend)\n"
         "  db migrate                bring the PostgreSQL schema to this version\n"
         "  db export                 print every account record, hash and relay entry (a dump)\n"
         "  db import FILE|-          add a dump's records to the configured backend\n";
}

common::Result<Args> parse_args(const std::vector<std::string>& argv) {
  Args a;
  a.config_path = common::config::kDefaultPath;
  std::vector<std::string> rest;
  bool options_done = false;
  bool autoreply_opts = false;
  bool dkim_opts = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    std::optional<std::string>* opt = nullptr;
    if (!options_done) {
      AutoreplyArgs& ar = a.autoreply;
      if (s == "--subject")
        opt = &ar.subject;
      else if (s == "--text")
        opt = &ar.text;
      else if (s == "--text-file")
        opt = &ar.text_file;
      else if (s == "--start")
        opt = &ar.start;
      else if (s == "--end")
        opt = &ar.end;
      else if (s == "--interval")
        opt = &ar.interval;
    }
    bool dkim_opt = false;
    if (!options_done && (s == "--selector" || s == "--algorithm")) {
      opt = s == "--selector" ? &a.selector : &a.algorithm;
      dkim_opt = true;
    }
    if (opt) {
      if (i + 1 >= argv.size()) return Status::error(s + " needs a value");
      *opt = argv[++i];
      (dkim_opt ? dkim_opts : autoreply_opts) = true;
    } else if (!options_done && rest.empty() && s == "-c") {
      if (i + 1 >= argv.size()) return Status::error("-c needs a file name");
      a.config_path = argv[++i];
    } else if (!options_done && (s == "-h" || s == "--help")) {
      a.command = Command::kHelp;
      return a;
    } else if (!options_done && s == "--force") {
      a.force = true;
    } else if (!options_done && s == "--today") {
      a.today = true;
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
    if (rest.size() < min)
      return Status::error("'" + rest[0] + (rest.size() > 1 ? " " + rest[1] : "") + "' needs an argument");
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
    if (sub == "add" || sub == "del" || sub == "show") {
      if (auto st = want(3, 3); !st) return st;
      a.command = sub == "add"   ? Command::kDomainAdd
                  : sub == "del" ? Command::kDomainDel
                                 : Command::kDomainShow;
      a.target = rest[2];
    } else if (sub == "list") {
      if (auto st = want(2, 2); !st) return st;
      a.command = Command::kDomainList;
    } else if (sub == "alias") {
      if (auto st = want(4, 4); !st) return st;
      a.command = Command::kDomainAlias;
      a.target = rest[2];
      a.target2 = rest[3];
    } else if (sub == "set") {
      if (rest.size() < 4) return Status::error("'domain set' needs a domain and at least one KEY=VALUE");
      a.command = Command::kDomainSet;
      a.target = rest[2];
      a.values.assign(rest.begin() + 3, rest.end());
    } else {
      return Status::error(sub.empty() ? "'domain' needs add, del, list, alias, set or show"
                                       : "unknown command 'domain " + sub + "'");
    }
  } else if (c == "user") {
    if (sub == "add" || sub == "del" || sub == "passwd" || sub == "show") {
      if (auto st = want(3, 3); !st) return st;
      a.command = sub == "add"      ? Command::kUserAdd
                  : sub == "del"    ? Command::kUserDel
                  : sub == "passwd" ? Command::kUserPasswd
                                    : Command::kUserShow;
      a.target = rest[2];
    } else if (sub == "list") {
      if (auto st = want(2, 3); !st) return st;
      a.command = Command::kUserList;
      if (rest.size() == 3) a.target = rest[2];
    } else if (sub == "set") {
      if (rest.size() < 4) return Status::error("'user set' needs an address and at least one KEY=VALUE");
      a.command = Command::kUserSet;
      a.target = rest[2];
      a.values.assign(rest.begin() + 3, rest.end());
    } else if (sub == "autoreply") {
      if (auto st = want(4, 4); !st) return st;
      if (rest[3] != "on" && rest[3] != "off")
        return Status::error("'user autoreply' needs on or off, not '" + rest[3] + "'");
      a.command = Command::kUserAutoreply;
      a.target = rest[2];
      a.autoreply.on = rest[3] == "on";
    } else {
      return Status::error(sub.empty() ? "'user' needs add, del, list, passwd, set, autoreply or show"
                                       : "unknown command 'user " + sub + "'");
    }
  } else if (c == "alias") {
    if (sub == "add") {
      if (rest.size() < 4) return Status::error("'alias add' needs an address and at least one target");
      a.command = Command::kAliasAdd;
      a.target = rest[2];
      a.values.assign(rest.begin() + 3, rest.end());
    } else if (sub == "del") {
      if (auto st = want(3, rest.size()); !st) return st;
      a.command = Command::kAliasDel;
      a.target = rest[2];
      a.values.assign(rest.begin() + 3, rest.end());
    } else if (sub == "list") {
      if (auto st = want(2, 3); !st) return st;
      a.command = Command::kAliasList;
      if (rest.size() == 3) a.target = rest[2];
    } else {
      return Status::error(sub.empty() ? "'alias' needs add, del or list"
                                       : "unknown command 'alias " + sub + "'");
    }
  } else if (c == "config-example") {
    if (auto st = want(1, 1); !st) return st;
    a.command = Command::kConfigExample;
  } else if (c == "check-dns") {
    if (auto st = want(2, 2); !st) return st;
    a.command = Command::kCheckDns;
    a.target = rest[1];
  } else if (c == "queue") {
    if (sub == "list") {
      if (auto st = want(2, 2); !st) return st;
      a.command = Command::kQueueList;
    } else if (sub == "flush") {
      if (auto st = want(2, 3); !st) return st;
      a.command = Command::kQueueFlush;
      if (rest.size() == 3) a.target = rest[2];
    } else if (sub == "show" || sub == "delete" || sub == "hold" || sub == "release") {
      if (auto st = want(3, 3); !st) return st;
      a.command = sub == "show"     ? Command::kQueueShow
                  : sub == "delete" ? Command::kQueueDelete
                  : sub == "hold"   ? Command::kQueueHold
                                    : Command::kQueueRelease;
      a.target = rest[2];
    } else {
      return Status::error(sub.empty() ? "'queue' needs list, show, flush, delete, hold or release"
                                       : "unknown command 'queue " + sub + "'");
    }
  } else if (c == "dkim") {
    if (sub == "generate" || sub == "rotate") {
      if (auto st = want(3, 3); !st) return st;
      a.command = sub == "generate" ? Command::kDkimGenerate : Command::kDkimRotate;
      a.target = rest[2];
    } else if (sub == "retire") {
      if (auto st = want(4, 4); !st) return st;
      a.command = Command::kDkimRetire;
      a.target = rest[2];
      a.target2 = rest[3];
    } else if (sub == "list") {
      if (auto st = want(2, 2); !st) return st;
      a.command = Command::kDkimList;
    } else {
      return Status::error(sub.empty() ? "'dkim' needs generate, rotate, retire or list"
                                       : "unknown command 'dkim " + sub + "'");
    }
  } else if (c == "tls") {
    if (sub != "tlsa")
      return Status::error(sub.empty() ? "'tls' needs tlsa" : "unknown command 'tls " + sub + "'");
    if (auto st = want(2, 3); !st) return st;
    a.command = Command::kTlsTlsa;
    if (rest.size() == 3) a.target = rest[2];
  } else if (c == "dovecot") {
    if (sub != "config")
      return Status::error(sub.empty() ? "'dovecot' needs config" : "unknown command 'dovecot " + sub + "'");
    if (auto st = want(2, 3); !st) return st;
    a.command = Command::kDovecotConfig;
    if (rest.size() == 3) a.target = rest[2];
  } else if (c == "roundcube") {
    if (sub != "config")
      return Status::error(sub.empty() ? "'roundcube' needs config"
                                       : "unknown command 'roundcube " + sub + "'");
    if (auto st = want(2, 3); !st) return st;
    a.command = Command::kRoundcubeConfig;
    if (rest.size() == 3) a.target = rest[2];
  } else if (c == "relay-recipient") {
    if (sub == "add") {
      if (rest.size() < 3) return Status::error("'relay-recipient add' needs at least one address");
      a.command = Command::kRelayRecipientAdd;
      a.values.assign(rest.begin() + 2, rest.end());
    } else if (sub == "del") {
      if (auto st = want(3, 3); !st) return st;
      a.command = Command::kRelayRecipientDel;
      a.target = rest[2];
    } else if (sub == "import") {
      if (auto st = want(4, 4); !st) return st;
      a.command = Command::kRelayRecipientImport;
      a.target = rest[2];
      a.target2 = rest[3];
    } else if (sub == "list") {
      if (auto st = want(2, 3); !st) return st;
      a.command = Command::kRelayRecipientList;
      if (rest.size() == 3) a.target = rest[2];
    } else {
      return Status::error(sub.empty() ? "'relay-recipient' needs add, del, import or list"
                                       : "unknown command 'relay-recipient " + sub + "'");
    }
  } else if (c == "atrn") {
    if (sub == "grant" || sub == "revoke") {
      if (auto st = want(4, 4); !st) return st;
      a.command = sub == "grant" ? Command::kAtrnGrant : Command::kAtrnRevoke;
      a.target = rest[2];
      a.target2 = rest[3];
    } else if (sub == "list") {
      if (auto st = want(2, 3); !st) return st;
      a.command = Command::kAtrnList;
      if (rest.size() == 3) a.target = rest[2];
    } else {
      return Status::error(sub.empty() ? "'atrn' needs grant, revoke or list"
                                       : "unknown command 'atrn " + sub + "'");
    }
  } else if (c == "rule") {
    if (sub == "add" || sub == "del") {
      if (rest.size() < 3) return Status::error("'rule " + sub + "' needs a kind and a pattern");
      a.command = sub == "add" ? Command::kRuleAdd : Command::kRuleDel;
      a.values.assign(rest.begin() + 2, rest.end());
    } else if (sub == "list") {
      if (auto st = want(2, 2); !st) return st;
      a.command = Command::kRuleList;
    } else {
      return Status::error(sub.empty() ? "'rule' needs add, del or list"
                                       : "unknown command 'rule " + sub + "'");
    }
  } else if (c == "db") {
    if (sub == "import") {
      if (auto st = want(3, 3); !st) return st;
      a.command = Command::kDbImport;
      a.target = rest[2];
    } else if (auto st = want(2, 2); !st) {
      return st;
    } else if (sub == "init") {
      a.command = Command::kDbInit;
    } else if (sub == "migrate") {
      a.command = Command::kDbMigrate;
    } else if (sub == "export") {
      a.command = Command::kDbExport;
    } else {
      return Status::error("unknown command 'db " + sub + "' (init, migrate, export or import)");
    }
  } else if (c == "flush") {
    if (auto st = want(1, 1); !st) return st;
    a.command = Command::kQueueFlush;
  } else if (c == "wakeup") {
    if (auto st = want(1, 1); !st) return st;
    a.command = Command::kWakeup;
  } else if (c == "tlsrpt") {
    if (sub != "send")
      return Status::error(sub.empty() ? "'tlsrpt' needs send" : "unknown command 'tlsrpt " + sub + "'");
    if (auto st = want(2, 2); !st) return st;
    a.command = Command::kTlsrptSend;
  } else if (c == "etrn") {
    if (auto st = want(3, 3); !st) return st;
    a.command = Command::kEtrn;
    a.target = rest[1];
    a.target2 = rest[2];
  } else {
    return Status::error("unknown command '" + c + "'");
  }
  if (a.today && a.command != Command::kTlsrptSend)
    return Status::error("--today only goes with 'tlsrpt send'");
  if (a.force && a.command != Command::kDomainDel)
    return Status::error("--force only goes with 'domain del'");
  if (autoreply_opts && a.command != Command::kUserAutoreply)
    return Status::error(
        "--subject, --text, --text-file, --start, --end and --interval go with 'user autoreply'");
  if (dkim_opts && a.command != Command::kDkimGenerate && a.command != Command::kDkimRotate)
    return Status::error("--selector and --algorithm go with 'dkim generate' and 'dkim rotate'");
  if (a.autoreply.text && a.autoreply.text_file) return Status::error("give --text or --text-file, not both");
  return a;
}

std::vector<std::string> args_for_program(std::string_view program, std::vector<std::string> argv) {
  auto slash = program.rfind('/');
  if (slash != std::string_view::npos) program.remove_prefix(slash + 1);
  if (program != "mailq") return argv;
  argv.emplace_back("queue");
  argv.emplace_back("list");
  return argv;
}

}  // namespace mailctl
