// Input, name and answer rules of mailbag-checkpassword (see checkpassword.hpp).
#include "pop3d/checkpassword/checkpassword.hpp"

#include <algorithm>

#include "common/auth/protocol.hpp"

namespace imap {

common::Result<Credentials> parse_input(std::string_view in) {
  if (in.size() > kMaxInput) return common::Status::error("more than 512 bytes on descriptor 3");
  auto end_login = in.find('\0');
  if (end_login == std::string_view::npos) return common::Status::error("no login name on descriptor 3");
  auto end_password = in.find('\0', end_login + 1);
  if (end_password == std::string_view::npos) return common::Status::error("no password on descriptor 3");
  Credentials c{std::string(in.substr(0, end_login)),
                std::string(in.substr(end_login + 1, end_password - end_login - 1))};
  if (c.login.empty()) return common::Status::error("empty login name");
  if (c.password.empty()) return common::Status::error("empty password");
  return c;
}

bool safe_login(std::string_view name) {
  if (name.empty() || name.size() > common::auth::kMaxLogin) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '+' || c == '@';
  });
}

int exit_for(common::ipc::AuthResult r) {
  switch (r) {
    case common::ipc::AuthResult::kOk: return 0;
    case common::ipc::AuthResult::kBadCredentials: return kExitFailed;
    case common::ipc::AuthResult::kTempFail: return kExitTempFail;
  }
  return kExitTempFail;
}

}  // namespace imap
