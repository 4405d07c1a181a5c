// Integration-style tests of mailctl's commands against a temporary tree, as the
// current user (as_root = false: no system users, no chown). Streams are temporary
// files, so tests see exactly what an administrator would.
#include "mailctl/commands.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/accounts/accounts.hpp"
#include "common/accounts/passwd.hpp"
#include "common/config/config.hpp"
#include "common/spool/queue_file.hpp"
#include "mailctl/password.hpp"

using namespace mailctl;

namespace {

struct Tree {
  std::string root;
  std::string conf;
  std::string out, err;  // of the last command

  Tree() {
    char tmpl[] = "/tmp/mailctl-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root = tmpl;
    conf = root + "/mailbag.conf";
    std::ofstream(conf) << "spool_directory = " << root << "/spool\n"
                        << "data_directory = " << root << "/data\n"
                        << "mail_directory = " << root << "/mail\n"
                        << "log_target = stderr\n";
  }
  ~Tree() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }

  static std::string slurp(std::FILE* f) {
    std::string s;
    std::rewind(f);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  }

  // Runs mailctl with `args` after "-c conf"; `input` is standard input (not a tty).
  int run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"-c", conf});
    std::FILE* in = std::tmpfile();
    std::FILE* o = std::tmpfile();
    std::FILE* e = std::tmpfile();
    std::fwrite(input.data(), 1, input.size(), in);
    std::rewind(in);
    int rc = mailctl::run(args, false, in, o, e);
    std::fclose(in);
    out = slurp(o);
    err = slurp(e);
    return rc;
  }

  mode_t mode(const std::string& rel) const {
    struct stat st;
    REQUIRE(::lstat((root + "/" + rel).c_str(), &st) == 0);
    return st.st_mode & 07777;
  }
  bool exists(const std::string& rel) const { return ::access((root + "/" + rel).c_str(), F_OK) == 0; }

  std::optional<std::string> hash(const std::string& address) {
    auto p = common::accounts::Passwords::open(root + "/data/passwd.mdb", false);
    REQUIRE(p.is_ok());
    auto h = (*p)->hash(address);
    REQUIRE(h.is_ok());
    return *h;
  }
};

}  // namespace

TEST_CASE("init builds the tree with the documented modes, idempotently") {
  Tree t;
  REQUIRE(t.run({"init"}) == kExitOk);
  CHECK(t.out.find("created " + t.root + "/spool/incoming (mode 3730") != std::string::npos);
  CHECK(t.mode("spool") == 0755);
  CHECK(t.mode("spool/incoming") == 03730);
  CHECK(t.mode("spool/queue") == 0700);
  CHECK(t.mode("spool/corrupt") == 0700);
  CHECK(t.mode("spool/state") == 0700);
  CHECK(t.mode("spool/private") == 0755);
  CHECK(t.mode("data") == 0755);
  CHECK(t.mode("mail") == 0770);
  CHECK(t.mode("data/quota") == 0750);
  CHECK(t.mode("data/srs.secret") == 0600);  // root's alone
  for (const char* db : {"accounts.mdb", "passwd.mdb", "relay.mdb"}) {
    CHECK(t.mode(std::string("data/") + db) == (std::string(db) == "relay.mdb" ? 0660 : 0640));
    CHECK(t.mode(std::string("data/") + db + "-lock") == 0660);
  }
  REQUIRE(t.run({"init"}) == kExitOk);
  CHECK(t.out == "nothing to do: the tree is complete\n");
  // A wrong mode is put right, and said so.
  REQUIRE(::chmod((t.root + "/spool/queue").c_str(), 0755) == 0);
  REQUIRE(t.run({"init"}) == kExitOk);
  CHECK(t.out == "fixed " + t.root + "/spool/queue: mode 0755 -> 0700\n");
  CHECK(t.mode("spool/queue") == 0700);
}

TEST_CASE("init refuses a symlink where a directory belongs") {
  Tree t;
  REQUIRE(::mkdir((t.root + "/spool").c_str(), 0755) == 0);
  REQUIRE(::symlink("/tmp", (t.root + "/spool/queue").c_str()) == 0);
  CHECK(t.run({"init"}) == EX_IOERR);
  CHECK(t.err.find("refusing") != std::string::npos);
}

TEST_CASE("commands before init say to run init, and create nothing") {
  Tree t;
  CHECK(t.run({"domain", "add", "example.org"}) == EX_IOERR);
  CHECK(t.err.find("mailctl init") != std::string::npos);
  CHECK_FALSE(t.exists("data/accounts.mdb"));
}

TEST_CASE("domains: add, duplicate, invalid, list, delete") {
  Tree t;
  REQUIRE(t.run({"init"}) == kExitOk);
  CHECK(t.run({"domain", "add", "Example.ORG"}) == kExitOk);
  CHECK(t.out.starts_with("added domain example.org\n"));
  CHECK(t.out.find("postmaster@example.org") != std::string::npos);
  CHECK(t.run({"domain", "add", "example.org"}) == kExitRefused);
  CHECK(t.err == "mailctl: domain example.org already exists\n");
  for (const char* bad : {"../etc", "exa mple.org", "-x.org", "a_b.org", "example.org/", ""})
    CHECK(t.run({"domain", "add", "--", bad}) == kExitRefused);
  CHECK(t.run({"domain", "add", "example.net"}) == kExitOk);
  CHECK(t.run({"domain", "list"}) == kExitOk);
  CHECK(t.out == "example.net\nexample.org\n");
  CHECK(t.run({"domain", "del", "example.com"}) == kExitRefused);
  CHECK(t.run({"domain", "del", "example.net"}) == kExitOk);
  CHECK(t.run({"domain", "list"}) == kExitOk);
  CHECK(t.out == "example.org\n");
  CHECK(t.run({"bogus"}) == EX_USAGE);
  CHECK(t.err.find("usage:") != std::string::npos);
}

TEST_CASE("users: add with a password from stdin, Maildir, duplicates, delete") {
  Tree t;
  REQUIRE(t.run({"init"}) == kExitOk);
  CHECK(t.run({"user", "add", "alice@example.org"}, "pw\n") == kExitRefused);  // no domain yet
  CHECK(t.err.find("no such domain") != std::string::npos);
  REQUIRE(t.run({"domain", "add", "example.org"}) == kExitOk);

  CHECK(t.run({"user", "add", "Alice@Example.org"}, "s3cret pass\n") == kExitOk);
  CHECK(t.out.find("added user alice@example.org") != std::string::npos);
  CHECK(t.out.find("s3cret") == std::string::npos);
  CHECK(t.err.find("s3cret") == std::string::npos);
  for (const char* d :
       {"mail/example.org/alice/cur", "mail/example.org/alice/new", "mail/example.org/alice/tmp"})
    CHECK(t.mode(d) == 0770);
  {
    auto a = common::accounts::Accounts::open(t.root + "/data/accounts.mdb", false);
    REQUIRE(a.is_ok());
    auto u = (*a)->user("alice@example.org");
    REQUIRE(u.is_ok());
    REQUIRE(u->has_value());
    CHECK((*u)->maildir == "example.org/alice");
  }
  auto h = t.hash("alice@example.org");
  REQUIRE(h.has_value());
  CHECK(h->starts_with("$y$"));  // yescrypt
  CHECK(common::accounts::check_password("s3cret pass", *h));

  CHECK(t.run({"user", "add", "alice@example.org"}, "other\n") == kExitRefused);
  CHECK(t.err == "mailctl: user alice@example.org already exists\n");
  CHECK(common::accounts::check_password("s3cret pass", *t.hash("alice@example.org")));  // unchanged

  // Refused input changes nothing.
  CHECK(t.run({"user", "add", "bob@example.org"}, "\n") == kExitRefused);
  CHECK(t.err.find("empty password") != std::string::npos);
  CHECK(t.run({"user", "add", "bob@example.org"}, "") == kExitRefused);
  CHECK(t.run({"user", "add", "../x@example.org"}, "pw\n") == kExitRefused);
  CHECK(t.run({"user", "add", "bob"}, "pw\n") == kExitRefused);
  CHECK_FALSE(t.hash("bob@example.org").has_value());
  CHECK_FALSE(t.exists("mail/example.org/bob"));

  // CRLF input: the CR is not part of the password.
  CHECK(t.run({"user", "add", "bob@example.org"}, "pw2\r\nignored\n") == kExitOk);
  CHECK(common::accounts::check_password("pw2", *t.hash("bob@example.org")));

  CHECK(t.run({"user", "list"}) == kExitOk);
  CHECK(t.out == "alice@example.org\nbob@example.org\n");
  CHECK(t.run({"user", "list", "example.org"}) == kExitOk);
  CHECK(t.out == "alice@example.org\nbob@example.org\n");
  CHECK(t.run({"user", "list", "example.net"}) == kExitRefused);

  CHECK(t.run({"user", "passwd", "bob@example.org"}, "newpw\n") == kExitOk);
  CHECK(common::accounts::check_password("newpw", *t.hash("bob@example.org")));
  CHECK(t.run({"user", "passwd", "carol@example.org"}, "x\n") == kExitRefused);

  CHECK(t.run({"user", "del", "bob@example.org"}) == kExitOk);
  CHECK(t.out.find("Maildir kept") != std::string::npos);
  CHECK_FALSE(t.hash("bob@example.org").has_value());
  CHECK(t.exists("mail/example.org/bob/new"));
  CHECK(t.run({"user", "del", "bob@example.org"}) == kExitRefused);
}

TEST_CASE("domain del refuses while users remain, unless --force") {
  Tree t;
  REQUIRE(t.run({"init"}) == kExitOk);
  REQUIRE(t.run({"domain", "add", "example.org"}) == kExitOk);
  REQUIRE(t.run({"user", "add", "alice@example.org"}, "pw\n") == kExitOk);
  CHECK(t.run({"domain", "del", "example.org"}) == kExitRefused);
  CHECK(t.err.find("--force") != std::string::npos);
  CHECK(t.run({"domain", "list"}) == kExitOk);
  CHECK(t.out == "example.org\n");
  CHECK(t.run({"domain", "del", "--force", "example.org"}) == kExitOk);
  CHECK(t.run({"domain", "list"}) == kExitOk);
  CHECK(t.out.empty());
  CHECK(t.run({"user", "list"}) == kExitOk);
  CHECK(t.out.empty());
  CHECK_FALSE(t.hash("alice@example.org").has_value());  // no login left behind
}

TEST_CASE("check-config and a broken config") {
  Tree t;
  CHECK(t.run({"check-config"}) == kExitOk);
  CHECK(t.out.ends_with("\n" + t.conf + ": ok\n"));  // after a note: the test tree has no TLS
  CHECK(t.out.find(": note: no tls_cert_file") != std::string::npos);
  std::ofstream(t.conf, std::ios::app) << "bogus = 1\n";
  CHECK(t.run({"check-config"}) == kExitProblems);
  CHECK(t.out == t.conf + ":5: unknown key 'bogus'\n");
  CHECK(t.run({"domain", "list"}) == EX_CONFIG);
  CHECK(t.err.find(":5: unknown key") != std::string::npos);
}

TEST_CASE("password input from a non-terminal: first line only, limits") {
  auto feed = [](const std::string& s) {
    std::FILE* f = std::tmpfile();
    std::fwrite(s.data(), 1, s.size(), f);
    std::rewind(f);
    return f;
  };
  std::FILE* f = feed("one\ntwo\n");
  auto p = read_new_password(f, stderr);
  REQUIRE(p.is_ok());
  CHECK(p->str() == "one");
  std::fclose(f);
  f = feed("no newline at end");
  CHECK(read_new_password(f, stderr)->str() == "no newline at end");
  std::fclose(f);
  f = feed(std::string("a\0b\n", 4));
  CHECK_FALSE(read_new_password(f, stderr).is_ok());
  std::fclose(f);
  f = feed(std::string(kMaxPassword + 1, 'x') + "\n");
  CHECK_FALSE(read_new_password(f, stderr).is_ok());
  std::fclose(f);
  f = feed(std::string(kMaxPassword, 'x') + "\n");
  CHECK(read_new_password(f, stderr).is_ok());
  std::fclose(f);
}

TEST_CASE("config-example needs no configuration file, and what it prints loads as the defaults") {
  Tree t;
  t.conf = t.root + "/does-not-exist.conf";
  REQUIRE(t.run({"config-example"}) == kExitOk);
  CHECK(t.err.empty());
  CHECK(t.out.starts_with("# /etc/mailbag/mailbag.conf"));
  CHECK(t.out.find("\n#dns_resolver = \n") != std::string::npos);
  auto cfg = common::config::parse(t.out, "example.conf");
  REQUIRE_MESSAGE(cfg, cfg.message());
  CHECK(common::config::dump(*cfg, "") == common::config::dump(common::config::defaults(), ""));
}

namespace {

// A queue file in spool/queue, as the queue manager links it.
void write_queue_file(const Tree& t, const std::string& id, const std::string& message) {
  common::spool::Envelope env;
  env.queue_id = id;
  env.arrival = 1700000000;
  env.protocol = "local";
  env.sender = "demo@example.test";
  env.recipients = {"alice@peer.test", "bob@peer.test"};
  env.data_size = message.size();
  env.data_lines = static_cast<std::uint64_t>(std::count(message.begin(), message.end(), '\n'));
  std::ofstream(t.root + "/spool/queue/" + id) << common::spool::format_envelope(env) << message;
}

}  // namespace

TEST_CASE("queue commands without a queue manager; ids are checked before anything is asked") {
  Tree t;
  REQUIRE(t.run({"init"}) == kExitOk);
  const std::string sock = t.root + "/spool/private/control";
  CHECK(t.run({"queue", "list"}) == EX_UNAVAILABLE);
  CHECK(t.err == "mailctl: queue manager is not running (no socket at " + sock + ")\n");
  CHECK(t.run({"queue", "flush"}) == EX_UNAVAILABLE);
  CHECK(t.run({"queue", "release", "0123456789ABCDEF"}) == EX_UNAVAILABLE);
  for (const char* bad : {"nothex", "0123456789abcdef", "../../etc/passwd", "0123456789ABCDEF0", ""}) {
    CHECK(t.run({"queue", "hold", "--", bad}) == EX_USAGE);
    CHECK(t.err.find("not a queue id") != std::string::npos);
    CHECK(t.run({"queue", "show", "--", bad}) == EX_USAGE);
    CHECK(t.run({"queue", "flush", "--", bad}) == (*bad ? EX_USAGE : EX_UNAVAILABLE));
  }

  // A socket file nobody listens on (a queue manager that died).
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  ::close(fd);
  CHECK(t.run({"queue", "list"}) == EX_UNAVAILABLE);
  CHECK(t.err == "mailctl: queue manager is not running (nobody listens on " + sock + ")\n");

  // show reads the queue file itself and says why the delivery state is missing.
  CHECK(t.run({"queue", "show", "0123456789ABCDEF"}) == kExitRefused);
  CHECK(t.err == "mailctl: no message 0123456789ABCDEF in the queue\n");
  write_queue_file(t, "0123456789ABCDEF", "Subject: test\nFrom: demo@example.test\n\nbody\n");
  REQUIRE(t.run({"queue", "show", "0123456789ABCDEF"}) == kExitOk);
  CHECK(t.out.starts_with("queue id     0123456789ABCDEF\n"));
  CHECK(t.out.find("sender       <demo@example.test>\n") != std::string::npos);
  CHECK(t.out.find("state        unknown: queue manager is not running (nobody listens on") !=
        std::string::npos);
  CHECK(t.out.find("recipients\n  <alice@peer.test>\n  <bob@peer.test>\n") != std::string::npos);
  CHECK(t.out.ends_with("header\n  Subject: test\n  From: demo@example.test\n"));
  // A damaged (truncated) queue file is reported, not shown.
  write_queue_file(t, "0123456789ABCDE0", "Subject: test\n\nbody\n");
  REQUIRE(::truncate((t.root + "/spool/queue/0123456789ABCDE0").c_str(), 100) == 0);
  CHECK(t.run({"queue", "show", "0123456789ABCDE0"}) == EX_IOERR);
  CHECK(t.err.find("damaged queue file") != std::string::npos);
}

TEST_CASE("check-dns refuses what is not a domain name before any lookup") {
  Tree t;
  for (const char* bad : {"exa mple.org", "a_b.org", "-x.org", "..", "x@y.org"}) {
    CHECK(t.run({"check-dns", "--", bad}) == EX_USAGE);
    CHECK(t.err.find("not a domain name") != std::string::npos);
  }
}
