// `mailctl init` as root, for real: groupadd/useradd/usermod run and files get their
// owners. The test works in a child process with a private mount namespace in which a
// copy of /etc is mounted over /etc (and an empty directory over /var/log), so the
// machine's own users, groups and login records are never touched. Without root (or where namespaces are not
// allowed) it says so and passes.
#include <doctest/doctest.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mailctl/commands.hpp"
#include "mailctl/system_users.hpp"

namespace {

constexpr int kCannot = 77;
int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "root init test: FAILED: %s\n", what.c_str());
    ++failures;
  }
}

bool owned(const std::string& path, const char* user, const char* group) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  struct passwd* pw = ::getpwnam(user);
  struct group* gr = ::getgrnam(group);
  return pw && gr && st.st_uid == pw->pw_uid && st.st_gid == gr->gr_gid;
}

std::string run_capture(const std::vector<std::string>& args, const std::string& input, int* rc) {
  std::FILE* in = std::tmpfile();
  std::FILE* out = std::tmpfile();
  std::fwrite(input.data(), 1, input.size(), in);
  std::rewind(in);
  *rc = mailctl::run(args, true, in, out, stderr);
  std::string s;
  std::rewind(out);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) s.append(buf, n);
  std::fclose(in);
  std::fclose(out);
  return s;
}

int child(const std::string& root) {
  if (::unshare(CLONE_NEWNS) != 0) return kCannot;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return kCannot;
  std::error_code ec;
  std::filesystem::copy(
      "/etc", root + "/etc",
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks, ec);
  if (ec) return kCannot;
  // Start from a machine without Mailbag accounts (mb-* users may exist on this one, even
  // be running): drop their lines from the copy.
  for (const char* db : {"passwd", "group", "shadow", "gshadow"}) {
    std::string path = root + "/etc/" + db;
    std::ifstream in(path);
    if (!in) continue;
    std::string kept, line;
    while (std::getline(in, line))
      if (!line.starts_with("mb-")) kept += line + "\n";
    in.close();
    std::ofstream(path, std::ios::trunc) << kept;
  }
  if (::mount((root + "/etc").c_str(), "/etc", nullptr, MS_BIND, nullptr) != 0) return kCannot;
  // useradd also initialises lastlog/faillog records under /var/log: keep those private too.
  std::filesystem::create_directories(root + "/varlog", ec);
  if (ec || ::mount((root + "/varlog").c_str(), "/var/log", nullptr, MS_BIND, nullptr) != 0) return kCannot;
  std::string sbin = mailctl::groupadd_argv("x")[0];
  sbin.resize(sbin.rfind('/') + 1);
  // mb-pop3d exists already, without its supplementary groups: init must add them.
  expect(mailctl::run_program(mailctl::groupadd_argv("mb-pop3d")).is_ok(), "pre-create group");
  expect(mailctl::run_program({sbin + "useradd", "--system", "-g", "mb-pop3d", "mb-pop3d"}).is_ok(),
         "pre-create user");
  std::string conf = root + "/mailbag.conf";
  std::ofstream(conf) << "spool_directory = " << root << "/spool\n"
                      << "data_directory = " << root << "/data\n"
                      << "mail_directory = " << root << "/mail\n";
  int rc = -1;
  std::string out = run_capture({"-c", conf, "init"}, "", &rc);
  expect(rc == 0, "init exit code");
  expect(out.find("created group mb-drop\n") != std::string::npos, "group created: " + out);
  expect(out.find("created user mb-smtpd\n") != std::string::npos, "user created: " + out);
  expect(out.find("added user mb-pop3d to groups mb-auth,mb-relay") != std::string::npos,
         "supplementary groups added to an existing user: " + out);
  for (const auto& id : common::privsep::identities()) {
    struct passwd* pw = ::getpwnam(std::string(id.user).c_str());
    expect(pw != nullptr, "user " + std::string(id.user));
    if (!pw) continue;
    expect(std::string(pw->pw_shell) == "/usr/sbin/nologin" || id.user == "mb-pop3d", "nologin shell");
    gid_t primary = pw->pw_gid;
    int n = 32;
    std::vector<gid_t> gids(32);
    ::getgrouplist(pw->pw_name, primary, gids.data(), &n);
    gids.resize(static_cast<std::size_t>(n > 0 ? n : 0));
    for (auto g : id.groups) {
      struct group* gr = ::getgrnam(std::string(g).c_str());
      expect(gr && std::find(gids.begin(), gids.end(), gr->gr_gid) != gids.end(),
             std::string(id.user) + " in " + std::string(g));
    }
  }
  expect(owned(root + "/spool", "root", "root"), "spool owner");
  expect(owned(root + "/spool/incoming", "mb-queue", "mb-drop"), "incoming owner");
  expect(owned(root + "/spool/queue", "mb-queue", "mb-queue"), "queue owner");
  expect(owned(root + "/spool/private", "mb-queue", "mb-queue"), "private owner");
  expect(owned(root + "/data/accounts.mdb", "mb-admin", "mb-acct"), "accounts.mdb owner");
  expect(owned(root + "/data/accounts.mdb-lock", "mb-admin", "mb-acct"), "accounts.mdb-lock owner");
  expect(owned(root + "/data/passwd.mdb", "mb-admin", "mb-authd"), "passwd.mdb owner");
  expect(owned(root + "/data/relay.mdb", "mb-pop3d", "mb-relay"), "relay.mdb owner");
  expect(owned(root + "/mail", "mb-vmail", "mb-mail"), "mail owner");
  expect(owned(root + "/data/quota", "mb-vmail", "mb-acct"), "quota flag directory owner");
  expect(owned(root + "/data/srs.secret", "root", "root"), "srs.secret owner");

  out = run_capture({"-c", conf, "init"}, "", &rc);
  expect(rc == 0 && out == "nothing to do: the tree is complete\n", "second init is a no-op: " + out);

  run_capture({"-c", conf, "domain", "add", "example.org"}, "", &rc);
  expect(rc == 0, "domain add");
  run_capture({"-c", conf, "user", "add", "alice@example.org"}, "pw\n", &rc);
  expect(rc == 0, "user add");
  for (const char* d : {"/mail/example.org", "/mail/example.org/alice", "/mail/example.org/alice/new"})
    expect(owned(root + d, "mb-vmail", "mb-mail"), std::string("maildir owner ") + d);
  return failures == 0 ? 0 : 1;
}

}  // namespace

TEST_CASE("init as root creates system users and groups and sets owners (private /etc copy)") {
  if (::geteuid() != 0) {
    MESSAGE("not root: the root path of mailctl init is not exercised here");
    return;
  }
  char tmpl[] = "/tmp/mailctl-root-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string root = tmpl;
  REQUIRE(::chmod(root.c_str(), 0755) == 0);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(child(root));
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kCannot) {
    MESSAGE("cannot make a private mount namespace here: root path not exercised");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}
