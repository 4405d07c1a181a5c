// Implementation of the mode and owner helpers (see fs.hpp).
#include "mailctl/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/io/unique_fd.hpp"
#include "common/privsep/drop.hpp"

namespace mailctl {

using common::Status;

std::string mode_text(mode_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

namespace {

Status fix(int fd, const Spec& s, bool as_root, std::vector<std::string>* report, bool created) {
  struct stat st;
  if (::fstat(fd, &st) < 0) return Status::sys("stat " + s.path);
  if (as_root) {
    uid_t uid = 0;
    if (s.user != "root") {
      auto u = common::privsep::user_id(s.user);
      if (!u) return u.status();
      uid = *u;
    }
    gid_t gid = 0;
    if (s.group != "root") {
      auto g = common::privsep::group_id(s.group);
      if (!g) return g.status();
      gid = *g;
    }
    if (st.st_uid != uid || st.st_gid != gid) {
      if (::fchown(fd, uid, gid) < 0) return Status::sys("chown " + s.path);
      if (!created)
        report->push_back("fixed " + s.path + ": owner " + std::to_string(st.st_uid) + ":" +
                          std::to_string(st.st_gid) + " -> " + s.user + ":" + s.group);
      if (::fstat(fd, &st) < 0) return Status::sys("stat " + s.path);
    }
  }
  if ((st.st_mode & 07777) != s.mode) {
    if (::fchmod(fd, s.mode) < 0) return Status::sys("chmod " + s.path);
    if (!created)
      report->push_back("fixed " + s.path + ": mode " + mode_text(st.st_mode) + " -> " + mode_text(s.mode));
  }
  if (created)
    report->push_back("created " + s.path + " (mode " + mode_text(s.mode) + ", " +
                      (as_root ? s.user + ":" + s.group : std::string("owned by the caller")) + ")");
  return Status::ok();
}

}  // namespace

Status ensure_dir(const Spec& s, bool as_root, std::vector<std::string>* report) {
  bool created = false;
  if (::mkdir(s.path.c_str(), 0700) == 0)
    created = true;
  else if (errno != EEXIST)
    return Status::sys("mkdir " + s.path);
  common::io::UniqueFd fd(::open(s.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP || errno == ENOTDIR)
      return Status::error(s.path + " exists and is not a directory (or is a symlink); refusing");
    return Status::sys("open " + s.path);
  }
  return fix(fd.get(), s, as_root, report, created);
}

Status ensure_file(const Spec& s, bool as_root, std::vector<std::string>* report) {
  common::io::UniqueFd fd(::open(s.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return Status::sys("open " + s.path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return Status::sys("stat " + s.path);
  if (!S_ISREG(st.st_mode)) return Status::error(s.path + " is not a regular file; refusing");
  return fix(fd.get(), s, as_root, report, false);
}

common::Result<common::io::UniqueFd> ensure_dir_at(int parent, const std::string& name,
                                                   const std::string& shown, mode_t mode,
                                                   std::vector<std::string>* report) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return Status::error("not a single path component: '" + name + "'");
  bool created = ::mkdirat(parent, name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return Status::sys("mkdir " + shown);
  common::io::UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP || errno == ENOTDIR)
      return Status::error(shown + " exists and is not a directory (or is a symlink); refusing");
    return Status::sys("open " + shown);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return Status::sys("stat " + shown);
  if ((st.st_mode & 07777) == mode) return fd;
  if (st.st_uid != ::geteuid()) {
    report->push_back("warning: " + shown + " belongs to uid " + std::to_string(st.st_uid) +
                      " and has mode " + mode_text(st.st_mode) + ", not " + mode_text(mode) +
                      "; left as it is");
    return fd;
  }
  if (::fchmod(fd.get(), mode) < 0) return Status::sys("chmod " + shown);
  if (!created)
    report->push_back("fixed " + shown + ": mode " + mode_text(st.st_mode) + " -> " + mode_text(mode));
  return fd;
}

void check_search_path(const std::string& path, std::vector<std::string>* report) {
  std::string cur = path;
  while (true) {
    auto slash = cur.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    cur.resize(slash);
    struct stat st;
    if (::stat(cur.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH))
      report->push_back("warning: " + cur + " (mode " + mode_text(st.st_mode) +
                        ") cannot be searched by other users; the daemons will not reach " + path);
  }
}

}  // namespace mailctl
