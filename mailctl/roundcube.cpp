// Implementation of `mailctl roundcube config` (see roundcube.hpp): the parameters from
// mailbag.conf, a des_key kept from the file mailctl wrote before (or a new random one),
// the state directory, then the files written by write_generated.hpp.
#include "mailctl/roundcube.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/io/fdio.hpp"
#include "common/privsep/drop.hpp"
#include "mailctl/args.hpp"
#include "mailctl/fs.hpp"
#include "mailctl/roundcube_conf.hpp"
#include "mailctl/write_generated.hpp"

namespace mailctl {

namespace {

common::Result<std::string> random_key() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char raw[24];
  common::io::UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!fd || ::read(fd.get(), raw, sizeof raw) != static_cast<ssize_t>(sizeof raw))
    return common::Status::sys("read /dev/urandom");
  std::string key;
  for (unsigned char c : raw) key += kAlphabet[c % (sizeof kAlphabet - 1)];
  return key;
}

}  // namespace

int cmd_roundcube_config(Context& ctx, const std::string& dir_arg, const std::string& mailbag_config) {
  RoundcubeParams p;
  std::string conf = absolute_path(mailbag_config);
  p.dir = absolute_path(dir_arg.empty() ? parent_dir(conf) + "/roundcube" : dir_arg);
  while (p.dir.size() > 1 && p.dir.back() == '/') p.dir.pop_back();
  p.state_dir = ctx.cfg.data_directory + "/roundcube";
  for (const std::string* path : {&p.dir, &p.state_dir}) {
    if (!plain_path(*path)) {
      complain(ctx, "roundcube config: " + *path +
                        ": Roundcube needs an absolute path of letters, digits and / . - _ + only");
      return kExitRefused;
    }
  }
  p.tls_name = ctx.cfg.hostname;
  if (p.tls_name.empty() || ctx.cfg.tls_cert_file.empty()) {
    complain(ctx,
             "roundcube config: hostname and tls_cert_file must be set in mailbag.conf (Roundcube "
             "logs in and sends only over TLS, checked against that name)");
    return kExitRefused;
  }
  if (ctx.cfg.submission_listen.empty() || (p.smtp = local_endpoint(ctx.cfg.submission_listen[0])).empty()) {
    complain(ctx,
             "roundcube config: Roundcube sends through the submission port, but submission_listen "
             "is empty or not an address:port");
    return kExitRefused;
  }
  if (ctx.as_root && !common::privsep::user_id(p.web_user)) {
    complain(ctx, "roundcube config: the web server user " + p.web_user + " does not exist");
    return kExitRefused;
  }
  p.des_key = roundcube_des_key(read_generated(p.dir, "config.inc.php", kRoundcubeMarker));
  if (p.des_key.empty()) {
    auto key = random_key();
    if (!key) {
      complain(ctx, "roundcube config: " + key.message());
      return kExitRefused;
    }
    p.des_key = *key;
  }

  if (int rc = write_generated(ctx, "roundcube config", p.dir, roundcube_files(p), kRoundcubeMarker);
      rc != kExitOk)
    return rc;
  std::vector<std::string> report;
  for (const auto& d : {p.state_dir, p.state_dir + "/temp", p.state_dir + "/logs"}) {
    if (auto st = ensure_dir({d, 0750, p.web_user, p.web_user}, ctx.as_root, &report); !st) {
      complain(ctx, "roundcube config: " + st.message());
      return kExitRefused;
    }
  }
  for (const auto& line : report) std::fprintf(ctx.out, "%s\n", line.c_str());
  std::fprintf(ctx.out,
               "start Roundcube with: %s/roundcube-serve 127.0.0.1:8080 (local changes: %s/local.inc.php)\n",
               p.dir.c_str(), p.dir.c_str());
  return kExitOk;
}

}  // namespace mailctl
