// Implementation of `mailctl dovecot config` (see dovecot.hpp): the parameters from
// mailbag.conf and the system's users, then each file written whole under a temporary
// name and renamed into place, only over a file mailctl wrote before.
#include "mailctl/dovecot.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/io/fdio.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "mailctl/args.hpp"
#include "mailctl/dovecot_conf.hpp"

namespace mailctl {

namespace {

using common::Status;

std::string parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

// Dovecot expands %-variables and splits values at spaces; a path it gets must have
// neither (nor quotes, nor anything a shell would read).
bool plain_path(const std::string& p) {
  return !p.empty() && p[0] == '/' && std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '.' || c == '-' || c == '_' || c == '+';
  });
}

// The passdb program next to mailctl itself (build/bin/ or $(SBINDIR)).
std::string checkpassword_program() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "/usr/local/sbin/mailbag-checkpassword";
  return parent(std::string(self, static_cast<std::size_t>(n))) + "/mailbag-checkpassword";
}

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return Status::sys("create " + tmp);
  Status st = common::io::write_all(fd.get(), text);
  if (st.is_ok() && ::fchmod(fd.get(), mode) != 0) st = Status::sys("chmod " + tmp);
  if (st.is_ok()) st = common::io::fsync_fd(fd.get(), path.c_str());
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Status::sys("rename " + path);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

int cmd_dovecot_config(Context& ctx, const std::string& dir_arg, const std::string& mailbag_config) {
  DovecotParams p;
  p.mailbag_config = absolute(mailbag_config);
  p.dir = absolute(dir_arg.empty() ? parent(p.mailbag_config) + "/dovecot" : dir_arg);
  while (p.dir.size() > 1 && p.dir.back() == '/') p.dir.pop_back();
  p.checkpassword = checkpassword_program();
  p.mail_directory = ctx.cfg.mail_directory;
  p.tls_cert_file = ctx.cfg.tls_cert_file;
  p.tls_key_file = ctx.cfg.tls_key_file;
  for (const std::string* path : {&p.dir, &p.mailbag_config, &p.checkpassword, &p.mail_directory}) {
    if (!plain_path(*path)) {
      complain(ctx, "dovecot config: " + *path +
                        ": Dovecot needs an absolute path of letters, digits and / . - _ + only");
      return kExitRefused;
    }
  }
  const auto* mail = common::privsep::identity_for("local");
  const auto* auth = common::privsep::identity_for("mailbag-checkpassword");
  auto uid = common::privsep::user_id(mail->user);
  auto gid = common::privsep::group_id(mail->primary_group);
  if (!uid || !gid || !common::privsep::user_id(auth->user)) {
    complain(ctx, "dovecot config: the mb-* users do not exist yet (run mailctl init first)");
    return kExitRefused;
  }
  p.mail_uid = *uid;
  p.mail_gid = *gid;
  p.mail_user = std::string(mail->user);
  p.mail_group = std::string(mail->primary_group);
  p.auth_user = std::string(auth->user);

  auto files = dovecot_files(p);
  // First every check, then every write: a refusal changes nothing.
  for (const auto& f : files) {
    std::string path = p.dir + "/" + f.name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      complain(ctx, "dovecot config: " + path + ": " + std::strerror(errno));
      return kExitRefused;
    }
    auto old = S_ISREG(st.st_mode) ? common::io::read_file(path, 1 << 20)
                                   : common::Result<std::string>(Status::error("not a file"));
    if (!old || !written_by_mailctl(*old)) {
      complain(ctx, "dovecot config: " + path +
                        " exists and was not written by mailctl: not touching it (move it away, or choose "
                        "another directory)");
      return kExitRefused;
    }
  }
  if (auto st = common::io::make_dirs(p.dir, 0755); !st) {
    complain(ctx, "dovecot config: " + st.message());
    return kExitRefused;
  }
  for (const auto& f : files) {
    std::string path = p.dir + "/" + f.name;
    if (auto st = write_file(path, f.text, f.mode); !st) {
      complain(ctx, "dovecot config: " + st.message());
      return kExitRefused;
    }
    std::fprintf(ctx.out, "wrote %s\n", path.c_str());
  }
  std::fprintf(ctx.out, "start Dovecot with: dovecot -c %s/dovecot.conf (local changes: %s/local.conf)\n",
               p.dir.c_str(), p.dir.c_str());
  return kExitOk;
}

}  // namespace mailctl
