// Unit tests for mailbag.conf parsing (common/config): the line syntax, every value kind,
// ranges, error messages with file:line, dump() and the daemon entry point load_or_exit().
#include "common/config/config.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

using namespace common::config;

namespace {

Config must_parse(std::string_view text) {
  auto r = parse(text, "t.conf");
  INFO("text: ", std::string(text));
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  return *r;
}

std::string error_of(std::string_view text) {
  auto r = parse(text, "t.conf");
  INFO("text: ", std::string(text));
  REQUIRE_FALSE(r.is_ok());
  return r.message();
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

TEST_CASE("defaults are valid and equal an empty file") {
  Config d = defaults();
  CHECK(d.log_target == common::log::Target::kSyslog);
  CHECK(d.quota_exceeded == QuotaExceeded::kDefer);
  CHECK(d.smtp_tls_policy == common::smtp::TlsPolicy::kMay);
  CHECK(d.spool_directory == "/var/spool/mailbag");
  CHECK(d.data_directory == "/var/lib/mailbag");
  CHECK(d.mail_directory == "/var/mail/vhosts");
  CHECK(d.smtp_listen == std::vector<std::string>{"0.0.0.0:25"});
  CHECK(d.smtpd_max_sessions == 1000);
  CHECK(d.smtpd_timeout == 300);
  CHECK(d.smtpd_data_timeout == 180);
  CHECK(d.message_size_limit == 10 * 1024 * 1024);
  CHECK(d.smtpd_max_recipients == 100);
  CHECK(d.queue_retry_min == 300);
  CHECK(d.queue_retry_max == 4 * 3600);
  CHECK(d.queue_lifetime == 5 * 86400);
  CHECK_FALSE(d.hostname.empty());  // filled from the system when not configured
  CHECK(d.path.empty());
  Config e = must_parse("");
  CHECK(dump(e, "") == dump(d, ""));
  CHECK(e.path == "t.conf");
  // Every default in the table is itself a valid value for its key.
  for (const auto& k : keys()) {
    INFO("key ", std::string(k.name));
    std::string line = std::string(k.name) + " = " + std::string(k.default_value) + "\n";
    CHECK(parse(line, "t.conf").is_ok());
  }
}

TEST_CASE("the key table is well formed") {
  std::set<std::string_view> names;
  for (const auto& k : keys()) {
    INFO("key ", std::string(k.name));
    CHECK(names.insert(k.name).second);
    CHECK(find_key(k.name) == &k);
    CHECK_FALSE(k.doc.empty());
    CHECK_FALSE(k.owners.empty());
    CHECK(k.min <= k.max);
    for (char c : k.name) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
  }
  CHECK(find_key("no_such_key") == nullptr);
  CHECK(find_key("") == nullptr);
}

TEST_CASE("line syntax") {
  Config c = must_parse(
      "# a comment\n"
      "\n"
      "   \t\n"
      "  # indented comment\n"
      "hostname = mx.example.org\n"
      "smtpd_max_sessions=20\n"
      "\tsmtpd_timeout\t=\t10m\t\n"
      "smtpd_max_recipients = 7");  // no newline at the end
  CHECK(c.hostname == "mx.example.org");
  CHECK(c.smtpd_max_sessions == 20);
  CHECK(c.smtpd_timeout == 600);
  CHECK(c.smtpd_max_recipients == 7);

  // CR LF line ends (a file edited on Windows) are fine.
  Config crlf = must_parse("hostname = a.example\r\n# c\r\n\r\nsmtpd_max_sessions = 3\r\n");
  CHECK(crlf.hostname == "a.example");
  CHECK(crlf.smtpd_max_sessions == 3);

  // Comments are whole lines only: a '#' later in the line is part of the value.
  CHECK(must_parse("hostname = a # b\n").hostname == "a # b");
  CHECK(error_of("smtpd_max_sessions = 5 # five\n").find("not a number") != std::string::npos);
  // Only the first '=' separates.
  CHECK(must_parse("hostname = a=b\n").hostname == "a=b");
}

TEST_CASE("errors name the file and line") {
  CHECK(error_of("\n\nbogus_key = 1\n") == "t.conf:3: unknown key 'bogus_key'");
  CHECK(error_of("hostname\n") == "t.conf:1: expected 'key = value'");
  CHECK(error_of("# x\nhostname mx.example\n") == "t.conf:2: expected 'key = value'");
  CHECK(error_of("= 5\n") == "t.conf:1: unknown key ''");
  CHECK(error_of("Hostname = x\n") == "t.conf:1: unknown key 'Hostname'");  // case matters
  CHECK(error_of("hostname = a\nsmtpd_timeout = 1m\nhostname = b\n") == "t.conf:3: key 'hostname' set twice");
  CHECK(starts_with(error_of("\n\n\n\nsmtpd_max_sessions = 0\n"), "t.conf:5: smtpd_max_sessions: "));
  // NUL and other control characters anywhere in a line.
  CHECK(error_of(std::string_view("hostname = a\0b\n", 15)) == "t.conf:1: NUL byte in line");
  CHECK(error_of(std::string_view("# c\0mment\n", 10)) == "t.conf:1: NUL byte in line");
  CHECK(error_of("hostname = a\rb\n") == "t.conf:1: control character in line");
  CHECK(error_of("hostname = a\x1b[31m\n") == "t.conf:1: control character in line");
  CHECK(error_of("hostname = a\x7f\n") == "t.conf:1: control character in line");
  CHECK(error_of("\n\nhostname = a\x01\n") == "t.conf:3: control character in line");
}

TEST_CASE("integers and ranges") {
  CHECK(must_parse("smtpd_max_sessions = 1\n").smtpd_max_sessions == 1);
  CHECK(must_parse("smtpd_max_sessions = 1000000\n").smtpd_max_sessions == 1000000);
  CHECK(error_of("smtpd_max_sessions = 1000001\n") ==
        "t.conf:1: smtpd_max_sessions: value 1000001 out of range 1..1000000");
  CHECK(error_of("smtpd_max_sessions = 0\n").find("out of range") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions = -1\n").find("not a number") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions = +1\n").find("not a number") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions = 1k\n").find("not a number") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions = 1 0\n").find("not a number") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions = 0x10\n").find("not a number") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions =\n").find("empty number") != std::string::npos);
  CHECK(error_of("smtpd_max_sessions = 99999999999999999999\n").find("too large") != std::string::npos);
  CHECK(must_parse("smtpd_max_sessions = 007\n").smtpd_max_sessions == 7);
}

TEST_CASE("sizes") {
  CHECK(*parse_size("0") == 0);
  CHECK(*parse_size("1") == 1);
  CHECK(*parse_size("1K") == 1024);
  CHECK(*parse_size("1k") == 1024);
  CHECK(*parse_size("10M") == 10 * 1024 * 1024);
  CHECK(*parse_size("10m") == 10 * 1024 * 1024);
  CHECK(*parse_size("2G") == 2LL * 1024 * 1024 * 1024);
  CHECK(*parse_size("8589934591G") == 8589934591LL * 1024 * 1024 * 1024);  // 2^63 - 2^30
  CHECK_FALSE(parse_size("8589934592G").is_ok());                          // 2^63: overflow
  CHECK_FALSE(parse_size("").is_ok());
  CHECK_FALSE(parse_size("K").is_ok());
  CHECK_FALSE(parse_size("1T").is_ok());
  CHECK_FALSE(parse_size("1KB").is_ok());
  CHECK_FALSE(parse_size("1.5M").is_ok());
  CHECK_FALSE(parse_size("-1M").is_ok());
  CHECK_FALSE(parse_size("1 M").is_ok());
  CHECK_FALSE(parse_size("1_").is_ok());
  CHECK(must_parse("message_size_limit = 1K\n").message_size_limit == 1024);  // the minimum
  CHECK(must_parse("message_size_limit = 50M\n").message_size_limit == 50 << 20);
  CHECK(error_of("message_size_limit = 1023\n").find("out of range 1024..") != std::string::npos);
  CHECK(error_of("message_size_limit = 5Q\n").find("unknown unit 'Q'") != std::string::npos);
}

TEST_CASE("durations") {
  CHECK(*parse_duration("0") == 0);
  CHECK(*parse_duration("45") == 45);
  CHECK(*parse_duration("45s") == 45);
  CHECK(*parse_duration("5m") == 300);
  CHECK(*parse_duration("2h") == 7200);
  CHECK(*parse_duration("3d") == 3 * 86400);
  CHECK(*parse_duration("1w") == 604800);
  CHECK_FALSE(parse_duration("5M").is_ok());  // M is mega, never minutes
  CHECK_FALSE(parse_duration("1y").is_ok());
  CHECK_FALSE(parse_duration("m").is_ok());
  CHECK_FALSE(parse_duration("1h30m").is_ok());
  CHECK_FALSE(parse_duration("1.5h").is_ok());
  CHECK_FALSE(parse_duration("99999999999999999w").is_ok());
  CHECK(must_parse("smtpd_timeout = 1d\n").smtpd_timeout == 86400);
  CHECK(error_of("smtpd_timeout = 2d\n").find("out of range 1..86400") != std::string::npos);
  CHECK(error_of("smtpd_timeout = 0s\n").find("out of range") != std::string::npos);
  CHECK(must_parse("queue_retry_max = 1w\n").queue_retry_max == 604800);
  CHECK(error_of("queue_retry_max = 8d\n").find("out of range") != std::string::npos);
  CHECK(error_of("pop3d_timeout = 599s\n").find("out of range 600..") != std::string::npos);
  CHECK(must_parse("queue_lifetime = 1m\n").queue_lifetime == 60);
}

TEST_CASE("booleans") {
  for (const char* t : {"yes", "true", "on", "1"}) CHECK(*parse_bool(t) == true);
  for (const char* f : {"no", "false", "off", "0"}) CHECK(*parse_bool(f) == false);
  for (const char* b : {"", "Yes", "YES", "y", "n", "2", "yes ", "enable"}) {
    INFO("value '", b, "'");
    CHECK_FALSE(parse_bool(b).is_ok());
  }
}

TEST_CASE("paths must be absolute and free of ..") {
  CHECK(must_parse("spool_directory = /srv/spool\n").spool_directory == "/srv/spool");
  CHECK(must_parse("spool_directory = /srv/spool/\n").spool_directory == "/srv/spool");
  CHECK(must_parse("spool_directory = /srv/spool///\n").spool_directory == "/srv/spool");
  CHECK(must_parse("spool_directory = /\n").spool_directory == "/");
  CHECK(must_parse("spool_directory = /srv/..x/y..\n").spool_directory == "/srv/..x/y..");
  CHECK(must_parse("data_directory = /tmp/my data\n").data_directory == "/tmp/my data");
  CHECK(must_parse("data_directory = /tmp/my /data\n").data_directory == "/tmp/my /data");
  // Found by config_fuzz: the blank before a trailing slash would survive the strip and
  // then be lost by the next read of --dump-config output.
  CHECK(error_of("data_directory = /var/spool /\n") == "t.conf:1: data_directory: path ends in a blank");
  for (const char* bad : {"relative/dir", "./x", "~/x", "", "../x"}) {
    INFO("value '", bad, "'");
    CHECK(error_of(std::string("mail_directory = ") + bad + "\n").find("absolute") != std::string::npos);
  }
  for (const char* bad : {"/..", "/srv/..", "/srv/../etc", "/srv/x/../../etc", "/srv/../"}) {
    INFO("value '", bad, "'");
    CHECK(error_of(std::string("data_directory = ") + bad + "\n").find("'..'") != std::string::npos);
  }
}

TEST_CASE("enumerated keys are parsed once into their enums") {
  using common::smtp::TlsPolicy;
  CHECK(must_parse("log_target = stderr\n").log_target == common::log::Target::kStderr);
  CHECK(must_parse("log_target = syslog\n").log_target == common::log::Target::kSyslog);
  CHECK(error_of("log_target = file\n") == "t.conf:1: log_target: must be syslog or stderr");
  CHECK(error_of("log_target =\n").find("must be syslog or stderr") != std::string::npos);
  // Words are exact: no case folding, no abbreviations (outer blanks are trimmed).
  CHECK(error_of("log_target = STDERR\n").find("must be syslog or stderr") != std::string::npos);
  CHECK(must_parse("log_target =   stderr  \n").log_target == common::log::Target::kStderr);
  CHECK(must_parse("quota_exceeded = bounce\n").quota_exceeded == QuotaExceeded::kBounce);
  CHECK(must_parse("quota_exceeded = defer\n").quota_exceeded == QuotaExceeded::kDefer);
  CHECK(error_of("quota_exceeded = drop\n") == "t.conf:1: quota_exceeded: must be defer or bounce");
  CHECK(must_parse("smtp_tls_policy = may\n").smtp_tls_policy == TlsPolicy::kMay);
  CHECK(must_parse("smtp_tls_policy = encrypt\n").smtp_tls_policy == TlsPolicy::kEncrypt);
  CHECK(must_parse("smtp_tls_policy = verify\n").smtp_tls_policy == TlsPolicy::kVerify);
  CHECK(error_of("smtp_tls_policy = none\n") == "t.conf:1: smtp_tls_policy: must be may, encrypt or verify");
  // --dump-config prints the word back.
  std::string d = dump(must_parse("smtp_tls_policy = verify\nquota_exceeded = bounce\n"), "");
  CHECK(d.find("smtp_tls_policy = verify\n") != std::string::npos);
  CHECK(d.find("quota_exceeded = bounce\n") != std::string::npos);
  CHECK(d.find("log_target = syslog\n") != std::string::npos);
}

TEST_CASE("strings with a check") {
  // Plain strings keep inner spaces and lose the outer ones.
  CHECK(must_parse("tls_cert_file =   /etc/ssl/a b.pem  \n").tls_cert_file == "/etc/ssl/a b.pem");
  CHECK(must_parse("tls_cert_file =\n").tls_cert_file.empty());
}

TEST_CASE("lists") {
  CHECK(split_list("") == std::vector<std::string>{});
  CHECK(split_list(" , ,\t") == std::vector<std::string>{});
  CHECK(split_list("a") == std::vector<std::string>{"a"});
  CHECK(split_list("a,b c\td, ,e") == std::vector<std::string>{"a", "b", "c", "d", "e"});
  Config c = must_parse("smtp_listen = 127.0.0.1:25, [::1]:25 0.0.0.0:587,:2525\n");
  CHECK(c.smtp_listen == std::vector<std::string>{"127.0.0.1:25", "[::1]:25", "0.0.0.0:587", ":2525"});
  CHECK(must_parse("smtp_listen =\n").smtp_listen.empty());
  std::string e = error_of("smtp_listen = 127.0.0.1:25, 127.0.0.1:99999\n");
  CHECK(e == "t.conf:1: smtp_listen: bad port in '127.0.0.1:99999'");
}

// Issue "no open relay, ever": relay_networks never covers the Internet.
TEST_CASE("relay_networks refuses networks wider than any private range") {
  CHECK(
      must_parse("relay_networks = 10.0.0.0/8, fc00::/7, 192.0.2.7, 2001:db8::/32\n").relay_networks.size() ==
      4);
  CHECK(error_of("relay_networks = 127.0.0.0/8, 0.0.0.0/0\n")
            .find("t.conf:1: relay_networks: 0.0.0.0/0 is wider than any private network") == 0);
  CHECK(error_of("relay_networks = ::/0\n").find("::/0 is wider") != std::string::npos);
  CHECK(error_of("relay_networks = 10.0.0.0/7\n").find("open relay") != std::string::npos);
  CHECK(error_of("relay_networks = fc00::/6\n").find("open relay") != std::string::npos);
  // ETRN only starts deliveries that are due anyway: everyone may ask (the default).
  CHECK(must_parse("etrn_networks = 0.0.0.0/0, ::/0\n").etrn_networks.size() == 2);
  // By default the relay networks; the word can be combined with more networks.
  CHECK(must_parse("relay_networks = 192.0.2.0/24\n").etrn_networks ==
        std::vector<std::string>{"192.0.2.0/24"});
  CHECK(must_parse("relay_networks = 192.0.2.0/24\netrn_networks = relay_networks, 198.51.100.7/32\n")
            .etrn_networks == std::vector<std::string>{"192.0.2.0/24", "198.51.100.7/32"});
  CHECK(must_parse("etrn_networks =\n").etrn_networks.empty());
}

TEST_CASE("relay_networks: public ranges wider than a site need relay_networks_allow_public") {
  // 2000::/7 passed the prefix-length check (it is as long as fc00::/7) but is public.
  std::string e = error_of("hostname = a.example\nrelay_networks = 127.0.0.0/8, 2000::/7\n");
  CHECK(e.find("t.conf:2: relay_networks: 2000::/7 is public address space wider than one site holds") == 0);
  CHECK(e.find("relay_networks_allow_public = yes") != std::string::npos);
  CHECK(error_of("relay_networks = 11.0.0.0/8\n").find("11.0.0.0/8 is public") != std::string::npos);
  CHECK(error_of("relay_networks = 2a00::/12\n").find("2a00::/12 is public") != std::string::npos);
  // A site's own public /16 and /32, and private space of any width, need no confirmation.
  CHECK(must_parse("relay_networks = 198.18.0.0/15, 8.8.0.0/16, 2001:4860::/32, fc00::/7\n")
            .relay_networks.size() == 4);
  Config c = must_parse("relay_networks = 2000::/7, 11.0.0.0/8\nrelay_networks_allow_public = yes\n");
  CHECK(c.relay_networks_allow_public);
  CHECK(c.relay_networks.size() == 2);
  // The confirmation never allows more than the absolute limit.
  CHECK(error_of("relay_networks = 0.0.0.0/0\nrelay_networks_allow_public = yes\n").find("open relay") !=
        std::string::npos);
}

TEST_CASE("parse_host_port") {
  auto v6 = parse_host_port("[::1]:25");
  REQUIRE(v6.is_ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 25);
  auto v4 = parse_host_port("127.0.0.1:25");
  REQUIRE(v4.is_ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 25);
  // ":port" means every address (the listener decides what "all" is).
  auto any = parse_host_port(":25");
  REQUIRE(any.is_ok());
  CHECK(any->host.empty());
  CHECK(any->port == 25);
  auto name = parse_host_port("mail.example.org:587");
  REQUIRE(name.is_ok());
  CHECK(name->host == "mail.example.org");
  CHECK(parse_host_port("[2001:db8::1]:65535")->port == 65535);
  CHECK(parse_host_port("h:1")->port == 1);

  for (const char* bad : {"host:0",
                          "host:65536",
                          "host:",
                          "host",
                          "host:x",
                          "host:-1",
                          "host:25 ",
                          "host:+25",
                          "[::1]",
                          "[::1]25",
                          "[::1]:",
                          "[::1:25",
                          "::1:25",
                          "fe80::1",
                          "[]:25",
                          "[127.0.0.1]:25",
                          "[mail.example]:25",
                          "bad host:25",
                          "a/b:25",
                          "h%eth0:25",
                          "",
                          ":",
                          "[::1]:99999999999"}) {
    INFO("value '", bad, "'");
    CHECK_FALSE(parse_host_port(bad).is_ok());
  }
}

TEST_CASE("dump") {
  Config c = must_parse(
      "hostname = mx.example\nsmtpd_timeout = 2m\nmessage_size_limit = 1M\n"
      "smtp_listen = 127.0.0.1:25 [::1]:25\nqueue_lifetime = 1w\n");
  std::string all = dump(c, "");
  CHECK(all.find("hostname = mx.example\n") != std::string::npos);
  CHECK(all.find("smtpd_timeout = 120\n") != std::string::npos);
  CHECK(all.find("message_size_limit = 1048576\n") != std::string::npos);
  CHECK(all.find("smtp_listen = 127.0.0.1:25, [::1]:25\n") != std::string::npos);
  CHECK(all.find("queue_lifetime = 604800\n") != std::string::npos);
  // One line per key, in table order.
  std::size_t lines = 0, pos = 0;
  for (const auto& k : keys()) {
    std::size_t at = all.find(std::string(k.name) + " = ", pos);
    CHECK(at == pos);
    pos = all.find('\n', at) + 1;
    ++lines;
  }
  CHECK(pos == all.size());
  CHECK(lines == keys().size());

  // A program sees its own keys and the shared ("*") ones.
  std::string smtpd = dump(c, "smtpd");
  CHECK(smtpd.find("smtp_listen = ") != std::string::npos);
  CHECK(smtpd.find("spool_directory = ") != std::string::npos);
  CHECK(smtpd.find("queue_retry_min") == std::string::npos);
  std::string qmgr = dump(c, "queue-manager");
  CHECK(qmgr.find("queue_retry_min = ") != std::string::npos);
  CHECK(qmgr.find("message_size_limit = ") != std::string::npos);
  CHECK(qmgr.find("smtp_listen") == std::string::npos);
  // A program name is matched as a whole word, not as a prefix.
  CHECK(dump(c, "smtp").find("smtp_listen") == std::string::npos);

  // The dump is itself a valid config that means the same.
  Config again = must_parse(all);
  CHECK(dump(again, "") == all);
}

TEST_CASE("load from a file") {
  char path[] = "/tmp/mailbag-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string text = "# test\nhostname = file.example\nsmtpd_max_sessions = 9\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  auto c = load(path);
  REQUIRE(c.is_ok());
  CHECK(c->path == path);
  CHECK(c->hostname == "file.example");
  CHECK(c->smtpd_max_sessions == 9);
  unlink(path);
  auto missing = load(path);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.message().find(path) != std::string::npos);
}

namespace {

// Runs load_or_exit in a child with stdout/stderr captured; returns exit status and output.
struct Run {
  int status = -1;
  std::string out;
};
Run run_load_or_exit(std::vector<std::string> args) {
  int p[2];
  REQUIRE(pipe(p) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    (void)load_or_exit("smtpd", static_cast<int>(args.size()), argv.data());
    std::fflush(stdout);
    _exit(42);  // returned normally
  }
  close(p[1]);
  Run r;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace

TEST_CASE("load_or_exit") {
  char path[] = "/tmp/mailbag-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string text = "hostname = exit.example\nqueue_retry_min = 1m\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);

  Run ok = run_load_or_exit({"smtpd", "-c", path});
  CHECK(ok.status == 42);
  Run d = run_load_or_exit({"smtpd", "-c", path, "--dump-config"});
  CHECK(d.status == 0);
  CHECK(d.out.find("hostname = exit.example\n") != std::string::npos);
  CHECK(d.out.find("queue_retry_min") == std::string::npos);  // not an smtpd key
  Run usage = run_load_or_exit({"smtpd", "-x"});
  CHECK(usage.status == EX_USAGE);
  CHECK(usage.out.find("usage:") != std::string::npos);
  Run no_arg = run_load_or_exit({"smtpd", "-c"});
  CHECK(no_arg.status == EX_USAGE);
  Run help = run_load_or_exit({"smtpd", "--help"});
  CHECK(help.status == 0);

  std::string bad_text = "hostname = x\n\nsmtpd_timeout = forever\n";
  fd = open(path, O_WRONLY | O_TRUNC);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, bad_text.data(), bad_text.size()) == static_cast<ssize_t>(bad_text.size()));
  close(fd);
  Run bad = run_load_or_exit({"smtpd", "-c", path});
  CHECK(bad.status == EX_CONFIG);
  CHECK(bad.out.find(std::string(path) + ":3: smtpd_timeout: ") != std::string::npos);
  unlink(path);
  Run missing = run_load_or_exit({"smtpd", "-c", path});
  CHECK(missing.status == EX_CONFIG);
}

TEST_CASE("every key of the table accepts its range and refuses beyond it") {
  // Generic over the table, so keys added later are covered too.
  for (const auto& k : keys()) {
    const std::string name(k.name);
    INFO("key ", name);
    auto set = [&](const std::string& v) { return parse(name + " = " + v + "\n", "t.conf"); };
    switch (k.kind) {
      case Kind::kInt:
      case Kind::kSize:
      case Kind::kDuration: {
        auto member = std::get<std::int64_t Config::*>(k.member);
        // A bare number means bytes or seconds for sizes and durations.
        auto lo = set(std::to_string(k.min));
        REQUIRE_MESSAGE(lo.is_ok(), lo.message());
        CHECK((*lo).*member == k.min);
        auto hi = set(std::to_string(k.max));
        REQUIRE_MESSAGE(hi.is_ok(), hi.message());
        CHECK((*hi).*member == k.max);
        if (k.min > 0)
          CHECK(set(std::to_string(k.min - 1)).message().find("out of range") != std::string::npos);
        if (k.max < INT64_MAX)
          CHECK(set(std::to_string(k.max + 1)).message().find("out of range") != std::string::npos);
        CHECK_FALSE(set("-1").is_ok());
        CHECK_FALSE(set("x").is_ok());
        CHECK_FALSE(set("").is_ok());
        break;
      }
      case Kind::kBool: {
        auto member = std::get<bool Config::*>(k.member);
        CHECK((*set("yes")).*member == true);
        CHECK((*set("no")).*member == false);
        CHECK((*set("on")).*member == true);
        CHECK((*set("off")).*member == false);
        CHECK(set("maybe").message() == "t.conf:1: " + name + ": must be yes or no, not 'maybe'");
        CHECK_FALSE(set("").is_ok());
        break;
      }
      case Kind::kPath: {
        auto member = std::get<std::string Config::*>(k.member);
        CHECK((*set("/srv/x/")).*member == "/srv/x");
        CHECK_FALSE(set("srv/x").is_ok());
        CHECK_FALSE(set("/srv/../x").is_ok());
        break;
      }
      case Kind::kList: {
        auto member = std::get<std::vector<std::string> Config::*>(k.member);
        auto d = set(std::string(k.default_value));
        REQUIRE(d.is_ok());
        // etrn_networks' default is the word relay_networks, which stands for that list.
        CHECK((*d).*member == (name == "etrn_networks" ? (*d).relay_networks : split_list(k.default_value)));
        break;
      }
      case Kind::kString:
        std::get<std::string Config::*>(k.member);  // the member has the right type
        break;
      case Kind::kEnum: {
        // Every word parses, dumps back as itself and names a distinct value; the default
        // is one of the words; anything else is refused with the list of words.
        REQUIRE_FALSE(k.choices.empty());
        CHECK(!k.check);
        std::set<int> values;
        bool default_listed = false;
        for (const auto& c : k.choices) {
          auto r = set(std::string(c.name));
          REQUIRE_MESSAGE(r.is_ok(), r.message());
          CHECK(dump(*r, "").find(name + " = " + std::string(c.name) + "\n") != std::string::npos);
          CHECK(choice_name(k, c.value) == c.name);
          CHECK(values.insert(c.value).second);
          default_listed = default_listed || c.name == k.default_value;
        }
        CHECK(default_listed);
        CHECK(set("no-such-word").message().find(": must be ") != std::string::npos);
        CHECK_FALSE(set("").is_ok());
        break;
      }
    }
  }
}
