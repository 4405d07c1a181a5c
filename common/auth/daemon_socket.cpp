// The listening socket shared by the authentication and TLS key daemons (daemon_socket.hpp).
#include "common/auth/daemon_socket.hpp"

#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"
#include "common/privsep/users.hpp"

namespace common::auth {

uid_t program_uid_or_exit(const char* program) {
  const auto* id = privsep::identity_for(program);
  auto uid = id ? privsep::user_id(id->user) : Result<uid_t>(Status::error(program));
  if (!uid) log::fatal("%s (run mailctl init)", uid.message().c_str());
  return *uid;
}

io::UniqueFd listen_for_daemons(const std::string& path, PeerPolicy* policy) {
  gid_t gid = static_cast<gid_t>(-1);
  policy->enforce = privsep::running_as_root();
  if (policy->enforce) {
    auto g = privsep::group_id("mb-auth");
    if (!g) log::fatal("%s (run mailctl init)", g.message().c_str());
    gid = *g;
    policy->uids.push_back(0);
    for (const char* program : {"smtpd", "pop3d"}) policy->uids.push_back(program_uid_or_exit(program));
  }
  auto s = ipc::listen_unix(path, 0660, gid);
  if (!s) log::fatal("%s", s.message().c_str());
  return std::move(*s);
}

}  // namespace common::auth
