// Implementation of the shared mailctl helpers (see context.hpp).
#include "mailctl/context.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "common/mail/idna.hpp"
#include "common/pg/backend.hpp"

namespace mailctl {

using common::Status;

void complain(Context& ctx, const std::string& msg) { std::fprintf(ctx.err, "mailctl: %s\n", msg.c_str()); }

namespace {

Status must_exist(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return Status::ok();
  if (errno == ENOENT) return Status::error(path + " does not exist (run 'mailctl init' first)", ENOENT);
  return Status::sys(path);
}

}  // namespace

common::Result<std::unique_ptr<common::accounts::Store>> open_accounts(Context& ctx) {
  if (common::pg::enabled(ctx.cfg)) return common::pg::open_accounts(ctx.cfg, true);
  std::string path = ctx.layout().accounts_db();
  MB_TRY(must_exist(path));
  auto a = common::accounts::Accounts::open(path, true);
  if (!a) return a.status();
  return std::unique_ptr<common::accounts::Store>(std::move(*a));
}

common::Result<std::unique_ptr<common::accounts::PasswordStore>> open_passwords(Context& ctx) {
  if (common::pg::enabled(ctx.cfg)) return common::pg::open_passwords(ctx.cfg, true);
  std::string path = ctx.layout().passwd_db();
  MB_TRY(must_exist(path));
  auto p = common::accounts::Passwords::open(path, true);
  if (!p) return p.status();
  return std::unique_ptr<common::accounts::PasswordStore>(std::move(*p));
}

std::string address_arg(const std::string& arg) {
  auto ascii = common::mail::address_to_ascii(arg);
  return lower(ascii ? *ascii : arg);
}

std::string domain_arg(const std::string& arg) {
  auto ascii = common::mail::domain_to_ascii(arg);
  return lower(ascii.is_ok() ? *ascii : arg);
}

}  // namespace mailctl
