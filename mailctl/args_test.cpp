// Tests for mailctl's command-line parsing and configuration checks (no I/O on the
// Mailbag tree).
#include "mailctl/args.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "mailctl/check_config.hpp"
#include "mailctl/init.hpp"
#include "mailctl/system_users.hpp"

using namespace mailctl;

namespace {
common::Result<Args> P(std::vector<std::string> v) { return parse_args(v); }
}  // namespace

TEST_CASE("commands and their arguments") {
  auto a = P({"-c", "/x.conf", "domain", "add", "example.org"});
  REQUIRE(a.is_ok());
  CHECK(a->config_path == "/x.conf");
  CHECK(a->command == Command::kDomainAdd);
  CHECK(a->target == "example.org");

  a = P({"init"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kInit);
  CHECK(a->config_path == "/etc/mailbag/mailbag.conf");

  a = P({"domain", "del", "--force", "example.org"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kDomainDel);
  CHECK(a->force);
  CHECK(P({"domain", "del", "example.org", "--force"})->force);

  CHECK(P({"user", "list"})->target.empty());
  CHECK(P({"user", "list", "example.org"})->target == "example.org");
  CHECK(P({"user", "passwd", "a@example.org"})->command == Command::kUserPasswd);
  CHECK(P({"check-config"})->command == Command::kCheckConfig);
  CHECK(P({"--help"})->command == Command::kHelp);
  CHECK(P({"help"})->command == Command::kHelp);
  // "--" ends options, so a name that starts with '-' reaches the validator.
  a = P({"domain", "add", "--", "-bad"});
  REQUIRE(a.is_ok());
  CHECK(a->target == "-bad");
}

TEST_CASE("usage errors") {
  CHECK_FALSE(P({}).is_ok());
  CHECK_FALSE(P({"-c"}).is_ok());
  CHECK_FALSE(P({"frobnicate"}).is_ok());
  CHECK_FALSE(P({"domain"}).is_ok());
  CHECK_FALSE(P({"domain", "add"}).is_ok());
  CHECK_FALSE(P({"domain", "add", "a.org", "b.org"}).is_ok());
  CHECK_FALSE(P({"domain", "list", "x"}).is_ok());
  CHECK_FALSE(P({"user", "add"}).is_ok());
  CHECK_FALSE(P({"user", "add", "a@b.org", "secret"}).is_ok());  // never a password on argv
  CHECK_FALSE(P({"user", "list", "a", "b"}).is_ok());
  CHECK_FALSE(P({"init", "now"}).is_ok());
  CHECK_FALSE(P({"user", "add", "--force", "a@b.org"}).is_ok());
  CHECK_FALSE(P({"--bogus", "init"}).is_ok());
  CHECK(P({"domain"}).message().find("add, del, list") != std::string::npos);
}

TEST_CASE("flush and wakeup: the link-up hook's commands, without arguments") {
  auto a = P({"flush"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kQueueFlush);  // all deferred mail, like queue flush
  CHECK(a->target.empty());
  CHECK(P({"wakeup"})->command == Command::kWakeup);
  CHECK_FALSE(P({"flush", "0123456789ABCDEF"}).is_ok());  // one message: queue flush ID
  CHECK_FALSE(P({"wakeup", "example.org"}).is_ok());
}

TEST_CASE("run as mailq: the queue listing, with -c passed on; any other name changes nothing") {
  auto a = parse_args(args_for_program("/usr/sbin/mailq", {}));
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kQueueList);
  a = parse_args(args_for_program("mailq", {"-c", "/x.conf"}));
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kQueueList);
  CHECK(a->config_path == "/x.conf");
  CHECK_FALSE(parse_args(args_for_program("mailq", {"-v"})).is_ok());  // a usage error, not a guess
  CHECK(args_for_program("/usr/sbin/mailctl", {"init"}) == std::vector<std::string>{"init"});
  CHECK(args_for_program("/usr/sbin/mailqx", {"init"}) == std::vector<std::string>{"init"});
}

TEST_CASE("atrn grant, revoke and list: the ODMR grants") {
  auto g = P({"atrn", "grant", "site@isp.test", "primary.test"});
  REQUIRE(g.is_ok());
  CHECK(g->command == Command::kAtrnGrant);
  CHECK(g->target == "site@isp.test");
  CHECK(g->target2 == "primary.test");
  CHECK(P({"atrn", "revoke", "site@isp.test", "primary.test"})->command == Command::kAtrnRevoke);
  CHECK(P({"atrn", "list"})->target.empty());
  CHECK(P({"atrn", "list", "site@isp.test"})->target == "site@isp.test");
  CHECK_FALSE(P({"atrn", "grant", "site@isp.test"}).is_ok());
  CHECK_FALSE(P({"atrn", "grant", "site@isp.test", "a.test", "b.test"}).is_ok());
  CHECK_FALSE(P({"atrn", "pull"}).is_ok());
  CHECK(P({"atrn"}).message().find("grant, revoke or list") != std::string::npos);
}

TEST_CASE("queue, check-dns, tls tlsa and config-example commands") {
  auto a = P({"queue", "list"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kQueueList);
  a = P({"queue", "flush"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kQueueFlush);
  CHECK(a->target.empty());
  CHECK(P({"queue", "flush", "0123456789ABCDEF"})->target == "0123456789ABCDEF");
  CHECK(P({"queue", "show", "X"})->command == Command::kQueueShow);
  CHECK(P({"queue", "delete", "X"})->command == Command::kQueueDelete);
  CHECK(P({"queue", "hold", "X"})->command == Command::kQueueHold);
  a = P({"queue", "release", "X"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kQueueRelease);
  CHECK(a->target == "X");
  a = P({"check-dns", "example.org"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kCheckDns);
  CHECK(a->target == "example.org");
  CHECK(P({"config-example"})->command == Command::kConfigExample);

  CHECK_FALSE(P({"queue"}).is_ok());
  CHECK_FALSE(P({"queue", "list", "X"}).is_ok());
  CHECK_FALSE(P({"queue", "show"}).is_ok());
  CHECK_FALSE(P({"queue", "delete"}).is_ok());
  CHECK_FALSE(P({"queue", "hold", "X", "Y"}).is_ok());
  CHECK_FALSE(P({"queue", "flush", "X", "Y"}).is_ok());
  CHECK_FALSE(P({"queue", "purge"}).is_ok());
  CHECK_FALSE(P({"check-dns"}).is_ok());
  CHECK_FALSE(P({"check-dns", "a.org", "b.org"}).is_ok());
  a = P({"tls", "tlsa"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kTlsTlsa);
  CHECK(a->target.empty());
  CHECK(P({"tls", "tlsa", "mx.example.org"})->target == "mx.example.org");
  CHECK_FALSE(P({"tls"}).is_ok());
  CHECK_FALSE(P({"tls", "cert"}).is_ok());
  CHECK_FALSE(P({"tls", "tlsa", "a", "b"}).is_ok());
  CHECK_FALSE(P({"config-example", "x"}).is_ok());
  CHECK(P({"tlsrpt", "send"})->command == Command::kTlsrptSend);
  CHECK_FALSE(P({"tlsrpt", "send"})->today);
  CHECK(P({"tlsrpt", "send", "--today"})->today);
  CHECK_FALSE(P({"tlsrpt"}).is_ok());
  CHECK_FALSE(P({"tlsrpt", "send", "x"}).is_ok());
  CHECK_FALSE(P({"flush", "--today"}).is_ok());
  CHECK(P({"queue"}).message().find("list, show, flush") != std::string::npos);
}

TEST_CASE("the tree plan has the documented owners and modes") {
  common::config::Config cfg = common::config::defaults();
  common::spool::Layout l(cfg);
  auto dirs = directory_plan(l);
  auto find = [&](const std::string& p) -> const Spec* {
    for (const auto& s : dirs)
      if (s.path == p) return &s;
    return nullptr;
  };
  REQUIRE(find("/var/spool/mailbag/tlsrpt"));
  CHECK(find("/var/spool/mailbag/tlsrpt")->user == "mb-remote");
  CHECK(find("/var/spool/mailbag/tlsrpt")->mode == 0700);
  REQUIRE(find("/var/spool/mailbag/incoming"));
  CHECK(find("/var/spool/mailbag/incoming")->mode == 03730);
  CHECK(find("/var/spool/mailbag/incoming")->user == "mb-queue");
  CHECK(find("/var/spool/mailbag/incoming")->group == "mb-drop");
  CHECK(find("/var/spool/mailbag/queue")->mode == 0700);
  CHECK(find("/var/spool/mailbag/private")->mode == 0755);
  CHECK(find("/var/lib/mailbag")->user == "root");
  CHECK(find("/var/mail/vhosts")->mode == 0770);
  CHECK(find("/var/mail/vhosts")->user == "mb-vmail");
  CHECK(find("/var/mail/vhosts")->group == "mb-mail");
  // Parents before children.
  CHECK(dirs.front().path == "/var/spool/mailbag");
  auto dbs = database_plan(l);
  REQUIRE(dbs.size() == 3);
  CHECK(dbs[0].data.group == "mb-acct");
  CHECK(dbs[1].data.group == "mb-authd");  // the authentication daemon's group only
  CHECK(dbs[2].data.user == "mb-pop3d");
  CHECK(dbs[2].data.group == "mb-relay");
  for (const auto& d : dbs) {
    // relay.mdb has two writers (pop3d, and the authentication daemon through mb-relay).
    CHECK(d.data.mode == (d.data.user == "mb-pop3d" ? 0660 : 0640));
    CHECK(d.lock.mode == 0660);
    CHECK(d.lock.path == d.data.path + "-lock");
  }
}

TEST_CASE("system account commands are argv vectors with the documented options") {
  auto groups = required_groups();
  for (const char* g : {"mb-drop", "mb-acct", "mb-auth", "mb-relay", "mb-mail", "mb-smtpd", "mb-queue",
                        "mb-remote", "mb-pop3d", "mb-authd"})
    CHECK(std::find(groups.begin(), groups.end(), g) != groups.end());
  CHECK(std::find(groups.begin(), groups.end(), "mb-vmail") == groups.end());  // its group is mb-mail
  auto ga = groupadd_argv("mb-drop");
  CHECK(ga[0].ends_with("/groupadd"));
  CHECK(std::vector<std::string>(ga.begin() + 1, ga.end()) ==
        std::vector<std::string>{"--system", "mb-drop"});
  auto ua = useradd_argv(*common::privsep::identity_for("smtpd"));
  CHECK(ua[0].front() == '/');
  CHECK(std::vector<std::string>(ua.begin() + 1, ua.end()) ==
        std::vector<std::string>{"--system", "--no-create-home", "--home-dir", "/", "--shell",
                                 "/usr/sbin/nologin", "-g", "mb-smtpd", "-G",
                                 "mb-drop,mb-acct,mb-auth,mb-relay", "mb-smtpd"});
  auto remote = useradd_argv(*common::privsep::identity_for("remote"));
  CHECK(std::find(remote.begin(), remote.end(), "-G") == remote.end());
  auto um = usermod_add_groups_argv("mb-pop3d", {"mb-mail", "mb-acct"});
  CHECK(std::vector<std::string>(um.begin() + 1, um.end()) ==
        std::vector<std::string>{"-a", "-G", "mb-mail,mb-acct", "mb-pop3d"});
}

TEST_CASE("run_program: argv without a shell, exit status checked") {
  CHECK(run_program({"/bin/true"}).is_ok());
  CHECK_FALSE(run_program({"/bin/false"}).is_ok());
  CHECK_FALSE(run_program({"true"}).is_ok());  // no PATH search: absolute paths only
  // Shell metacharacters are plain bytes in one argument.
  CHECK(run_program({"/bin/test", "a;false", "=", "a;false"}).is_ok());
  // Only PATH and LC_ALL reach the program, nothing of ours.
  ::setenv("MAILBAG_SECRET_TEST", "leak", 1);
  CHECK(run_program({"/bin/sh", "-c",
                     "test -z \"$MAILBAG_SECRET_TEST\" && test \"$PATH\" = /usr/sbin:/usr/bin:/sbin:/bin "
                     "&& test \"$LC_ALL\" = C"})
            .is_ok());
  ::unsetenv("MAILBAG_SECRET_TEST");
}

TEST_CASE("check-config reports every problem with file:line") {
  auto p = check_config_text(
      "# comment\n"
      "spool_directory = relative\n"
      "smtpd_max_sessions = 0\n"
      "no_such_key = 1\n"
      "log_target = stderr\n",
      "/etc/mb.conf");
  REQUIRE(p.size() == 3);
  CHECK(p[0].starts_with("/etc/mb.conf:2: "));
  CHECK(p[1].starts_with("/etc/mb.conf:3: "));
  CHECK(p[2].starts_with("/etc/mb.conf:4: "));
  CHECK(check_config_text("log_target = stderr\n", "f").empty());
}

TEST_CASE("check-config notes: no TLS, POP3 passwords in clear") {
  auto n = config_notes("log_target = stderr\n", "f");
  REQUIRE(n.size() == 1);
  CHECK(n[0].starts_with("f: note: no tls_cert_file: "));
  n = config_notes("tls_cert_file = /c.pem\ntls_key_file = /k.pem\npop3_plaintext_auth = yes\n", "f");
  REQUIRE(n.size() == 1);
  CHECK(n[0].starts_with("f:3: note: pop3_plaintext_auth = yes: "));
  CHECK(config_notes("tls_cert_file = /c.pem\ntls_key_file = /k.pem\n", "f").empty());
  CHECK(config_notes("no_such_key = 1\n", "f").empty());  // problems come first, not notes
}

TEST_CASE("check-config warns about a TLS key the world can read") {
  char dir[] = "/tmp/mailctl-key-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  std::string key = std::string(dir) + "/key.pem";
  std::ofstream(key) << "not really a key\n";
  std::string conf = "tls_cert_file = /c.pem\ntls_key_file = " + key + "\n";
  REQUIRE(::chmod(key.c_str(), 0644) == 0);
  auto n = config_notes(conf, "f");
  REQUIRE(n.size() == 1);
  CHECK(n[0].starts_with("f:2: warning: tls_key_file "));
  REQUIRE(::chmod(key.c_str(), 0640) == 0);
  CHECK(config_notes(conf, "f").empty());
  ::unlink(key.c_str());
  ::rmdir(dir);
}

TEST_CASE("check-config cross-key checks") {
  auto p = check_config_text("tls_cert_file = /nonexistent/cert.pem\n", "f");
  REQUIRE(p.size() == 2);
  CHECK(p[0] == "f:1: tls_cert_file and tls_key_file go together: set both or neither");
  CHECK(p[1].starts_with("f:1: tls_cert_file: /nonexistent/cert.pem: "));
  p = check_config_text("queue_retry_max = 1m\nqueue_retry_min = 2m\n", "f");
  REQUIRE(p.size() == 1);
  CHECK(p[0].starts_with("f:2: "));
  p = check_config_text("mail_directory = /var/spool/mailbag/mail\n", "f");
  REQUIRE(p.size() == 1);
  CHECK(p[0].starts_with("f:1: mail_directory"));
  p = check_config_text("data_directory = /srv/x\nmail_directory = /srv/x\n", "f");
  CHECK(p.size() == 1);
  p = check_config_text("hostname = bad host\n", "f");
  REQUIRE(p.size() == 1);
  CHECK(p[0].starts_with("f:1: hostname"));
}
