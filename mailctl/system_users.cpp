// Implementation of system account creation (see system_users.hpp).
#include "mailctl/system_users.hpp"

#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

namespace mailctl {

using common::Status;

namespace {

std::string tool(const char* name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/"}) {
    std::string p = std::string(dir) + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::string("/usr/sbin/") + name;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Supplementary groups `user` is in now, by name.
std::vector<std::string> groups_of(const std::string& user, gid_t primary) {
  int n = 64;
  std::vector<gid_t> gids(static_cast<std::size_t>(n));
  while (::getgrouplist(user.c_str(), primary, gids.data(), &n) < 0) gids.resize(static_cast<std::size_t>(n));
  gids.resize(static_cast<std::size_t>(n));
  std::vector<std::string> out;
  for (gid_t g : gids)
    if (struct group* gr = ::getgrgid(g)) out.emplace_back(gr->gr_name);
  return out;
}

// Runs argv until `done()` holds. Another `mailctl init` (a second installer, parallel
// test workers) may create the same account at the same moment: then our groupadd fails
// although the group is there, or fails because the other holds the lock on /etc/passwd.
// A failure counts as success when done() holds afterwards, and is retried a few times.
Status run_until(const std::vector<std::string>& argv, const std::function<bool()>& done) {
  Status st = Status::ok();
  for (int attempt = 1; attempt <= 5; ++attempt) {
    st = run_program(argv);
    if (st.is_ok() || done()) return Status::ok();
    ::usleep(static_cast<useconds_t>(attempt) * 200000);
  }
  return st;
}

bool in_groups(const std::string& user, const std::vector<std::string>& groups) {
  struct passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return false;
  std::vector<std::string> have = groups_of(user, pw->pw_gid);
  for (const auto& g : groups)
    if (std::find(have.begin(), have.end(), g) == have.end()) return false;
  return true;
}

}  // namespace

std::vector<std::string> required_groups() {
  std::vector<std::string> out;
  for (auto g : common::privsep::kSharedGroups) out.emplace_back(g);
  for (const auto& id : common::privsep::identities())
    if (std::find(out.begin(), out.end(), id.primary_group) == out.end()) out.emplace_back(id.primary_group);
  return out;
}

std::vector<std::string> groupadd_argv(const std::string& group) {
  return {tool("groupadd"), "--system", group};
}

std::vector<std::string> useradd_argv(const common::privsep::Identity& id) {
  std::vector<std::string> a = {tool("useradd"),     "--system", "--no-create-home",
                                "--home-dir",        "/",        "--shell",
                                "/usr/sbin/nologin", "-g",       std::string(id.primary_group)};
  if (!id.groups.empty()) {
    std::vector<std::string> gs(id.groups.begin(), id.groups.end());
    a.push_back("-G");
    a.push_back(join(gs));
  }
  a.emplace_back(id.user);
  return a;
}

std::vector<std::string> usermod_add_groups_argv(const std::string& user,
                                                 const std::vector<std::string>& groups) {
  return {tool("usermod"), "-a", "-G", join(groups), user};
}

Status run_program(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return Status::error("run_program: need an absolute path");
  std::vector<char*> args;
  for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char lc_env[] = "LC_ALL=C";
  char* envp[] = {path_env, lc_env, nullptr};
  pid_t pid;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, args.data(), envp);
  if (rc != 0) return Status::error("cannot run " + argv[0] + ": " + std::strerror(rc), rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return Status::sys("waitpid " + argv[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  std::string cmd;
  for (const auto& s : argv) cmd += (cmd.empty() ? "" : " ") + s;
  if (WIFEXITED(status))
    return Status::error("'" + cmd + "' exited with status " + std::to_string(WEXITSTATUS(status)));
  return Status::error("'" + cmd + "' was killed by signal " + std::to_string(WTERMSIG(status)));
}

Status ensure_system_accounts(std::vector<std::string>* report) {
  for (const auto& g : required_groups()) {
    if (::getgrnam(g.c_str())) continue;
    MB_TRY(run_until(groupadd_argv(g), [&] { return ::getgrnam(g.c_str()) != nullptr; }));
    report->push_back("created group " + g);
  }
  for (const auto& id : common::privsep::identities()) {
    std::string user(id.user);
    struct passwd* pw = ::getpwnam(user.c_str());
    if (!pw) {
      MB_TRY(run_until(useradd_argv(id), [&] { return ::getpwnam(user.c_str()) != nullptr; }));
      report->push_back("created user " + user);
      continue;
    }
    std::vector<std::string> have = groups_of(user, pw->pw_gid);
    std::vector<std::string> missing;
    for (auto g : id.groups)
      if (std::find(have.begin(), have.end(), g) == have.end()) missing.emplace_back(g);
    if (!missing.empty()) {
      MB_TRY(run_until(usermod_add_groups_argv(user, missing), [&] { return in_groups(user, missing); }));
      report->push_back("added user " + user + " to groups " + join(missing));
    }
    struct group* pg = ::getgrgid(pw->pw_gid);
    if (!pg || id.primary_group != pg->gr_name)
      report->push_back("warning: user " + user + " has primary group " + (pg ? pg->gr_name : "?") +
                        ", expected " + std::string(id.primary_group));
  }
  return Status::ok();
}

}  // namespace mailctl
