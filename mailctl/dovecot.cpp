// Implementation of `mailctl dovecot config` (see dovecot.hpp): the parameters from
// mailbag.conf and the system's users, then the files written by write_generated.hpp
// (only over files mailctl wrote before).
#include "mailctl/dovecot.hpp"

#include <limits.h>
#include <unistd.h>

#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"
#include "mailctl/args.hpp"
#include "mailctl/dovecot_conf.hpp"
#include "mailctl/write_generated.hpp"

namespace mailctl {

namespace {

// The passdb program next to mailctl itself (build/bin/ or $(SBINDIR)).
std::string checkpassword_program() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "/usr/local/sbin/mailbag-checkpassword";
  return parent_dir(std::string(self, static_cast<std::size_t>(n))) + "/mailbag-checkpassword";
}

}  // namespace

int cmd_dovecot_config(Context& ctx, const std::string& dir_arg, const std::string& mailbag_config) {
  DovecotParams p;
  p.mailbag_config = absolute_path(mailbag_config);
  p.dir = absolute_path(dir_arg.empty() ? parent_dir(p.mailbag_config) + "/dovecot" : dir_arg);
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

  if (int rc = write_generated(ctx, "dovecot config", p.dir, dovecot_files(p), kDovecotMarker); rc != kExitOk)
    return rc;
  std::fprintf(ctx.out, "start Dovecot with: dovecot -c %s/dovecot.conf (local changes: %s/local.conf)\n",
               p.dir.c_str(), p.dir.c_str());
  return kExitOk;
}

}  // namespace mailctl
