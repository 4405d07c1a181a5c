// Implementation of run_as and become (see as_user.hpp).
#include "common/privsep/as_user.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/privsep/drop.hpp"

namespace common::privsep {

Status become(const Owner& who) {
  if (::geteuid() != 0) return Status::ok();
  auto uid = user_id(who.user);
  if (!uid) return uid.status();
  auto gid = group_id(who.group);
  if (!gid) return gid.status();
  std::vector<gid_t> groups{*gid};
  for (auto g : who.groups) {
    auto sg = group_id(g);
    if (!sg) return sg.status();
    groups.push_back(*sg);
  }
  if (*uid == 0) return Status::error("refusing to act as root for " + std::string(who.user));
  if (::setgroups(groups.size(), groups.data()) != 0) return Status::sys("setgroups");
  if (::setresgid(*gid, *gid, *gid) != 0) return Status::sys("setresgid");
  if (::setresuid(*uid, *uid, *uid) != 0) return Status::sys("setresuid");
  uid_t r, e, s;
  if (::getresuid(&r, &e, &s) != 0 || r != *uid || e != *uid || s != *uid)
    return Status::error("uid mismatch after switching to " + std::string(who.user));
  if (::setuid(0) == 0) return Status::error("could regain root after switching to " + std::string(who.user));
  return Status::ok();
}

Status run_as(const Owner& who, const std::function<Status()>& fn) {
  if (::geteuid() != 0) return fn();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::sys("pipe");
  io::UniqueFd rd(p[0]), wr(p[1]);
  std::fflush(nullptr);  // nothing buffered may be written twice
  pid_t pid = ::fork();
  if (pid < 0) return Status::sys("fork");
  if (pid == 0) {
    rd.reset();
    Status st = become(who);
    if (st) st = fn();
    std::fflush(nullptr);
    // "<err> <message>" for a failure, nothing for success.
    if (!st) (void)io::write_all(wr.get(), std::to_string(st.err()) + " " + st.message());
    ::_exit(st ? 0 : 1);
  }
  wr.reset();
  std::string msg;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (msg.size() < 65536) msg.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return Status::sys("waitpid");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  if (msg.empty())
    return Status::error("the process working as " + std::string(who.user) + " failed (status " +
                         std::to_string(status) + ")");
  int err = std::atoi(msg.c_str());
  auto sp = msg.find(' ');
  return Status::error(sp == std::string::npos ? msg : msg.substr(sp + 1), err);
}

}  // namespace common::privsep
