// Implementation of the shared mailctl helpers (see context.hpp).
#include "mailctl/context.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "common/mail/idna.hpp"

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

common::Result<std::unique_ptr<common::accounts::Accounts>> open_accounts(Context& ctx) {
  std::string path = ctx.layout().accounts_db();
  MB_TRY(must_exist(path));
  return common::accounts::Accounts::open(path, true);
}

common::Result<std::unique_ptr<common::accounts::Passwords>> open_passwords(Context& ctx) {
  std::string path = ctx.layout().passwd_db();
  MB_TRY(must_exist(path));
  return common::accounts::Passwords::open(path, true);
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
