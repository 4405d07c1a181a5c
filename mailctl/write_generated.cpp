// Implementation of write_generated.hpp: the checks on every target file, then the
// writes (temporary file, fsync, rename), with the group a file asks for when root.
#include "mailctl/write_generated.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/io/fdio.hpp"
#include "common/privsep/drop.hpp"
#include "mailctl/args.hpp"

namespace mailctl {

namespace {

using common::Status;

Status write_file(const std::string& path, const GeneratedFile& f, bool as_root) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return Status::sys("create " + tmp);
  Status st = common::io::write_all(fd.get(), f.text);
  if (st.is_ok() && as_root && !f.group.empty()) {
    auto gid = common::privsep::group_id(f.group);
    if (!gid)
      st = Status::error("group " + f.group + " does not exist");
    else if (::fchown(fd.get(), static_cast<uid_t>(-1), *gid) != 0)
      st = Status::sys("chown " + tmp);
  }
  if (st.is_ok() && ::fchmod(fd.get(), f.mode) != 0) st = Status::sys("chmod " + tmp);
  if (st.is_ok()) st = common::io::fsync_fd(fd.get(), path.c_str());
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Status::sys("rename " + path);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string absolute_path(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

bool plain_path(const std::string& p) {
  return !p.empty() && p[0] == '/' && std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '.' || c == '-' || c == '_' || c == '+';
  });
}

std::string read_generated(const std::string& dir, const std::string& name, std::string_view marker) {
  std::string path = dir + "/" + name;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  auto text = common::io::read_file(path, 1 << 20);
  return text && has_marker(*text, marker) ? *text : "";
}

int write_generated(Context& ctx, std::string_view what, const std::string& dir,
                    const std::vector<GeneratedFile>& files, std::string_view marker) {
  std::string cmd(what);
  for (const auto& f : files) {
    std::string path = dir + "/" + f.name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      complain(ctx, cmd + ": " + path + ": " + std::strerror(errno));
      return kExitRefused;
    }
    auto old = S_ISREG(st.st_mode) ? common::io::read_file(path, 1 << 20)
                                   : common::Result<std::string>(Status::error("not a file"));
    if (!old || !has_marker(*old, marker)) {
      complain(ctx, cmd + ": " + path +
                        " exists and was not written by mailctl: not touching it (move it away, or choose "
                        "another directory)");
      return kExitRefused;
    }
  }
  if (auto st = common::io::make_dirs(dir, 0755); !st) {
    complain(ctx, cmd + ": " + st.message());
    return kExitRefused;
  }
  for (const auto& f : files) {
    std::string path = dir + "/" + f.name;
    if (auto st = write_file(path, f, ctx.as_root); !st) {
      complain(ctx, cmd + ": " + st.message());
      return kExitRefused;
    }
    std::fprintf(ctx.out, "wrote %s\n", path.c_str());
  }
  return kExitOk;
}

}  // namespace mailctl
