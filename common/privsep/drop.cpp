// Implementation of the privilege drop (see drop.hpp).
#include "common/privsep/drop.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/log/log.hpp"
#include "common/privsep/users.hpp"

namespace common::privsep {
namespace {

void clear_caps_and_lock() {
  cap_t caps = cap_init();  // an empty set
  if (!caps) log::panic("cap_init failed");
  if (cap_set_proc(caps) != 0) log::panic("cap_set_proc (clear all capabilities) failed");
  cap_free(caps);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) log::panic("prctl(PR_SET_NO_NEW_PRIVS) failed");
}

void verify_caps() {
  cap_t now = cap_get_proc();
  cap_t empty = cap_init();
  if (!now || !empty) log::panic("cap_get_proc failed");
  bool clear = cap_compare(now, empty) == 0;
  cap_free(now);
  cap_free(empty);
  if (!clear) log::panic("capabilities remain after drop");
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) log::panic("no_new_privs not set after drop");
}

}  // namespace

bool running_as_root() { return geteuid() == 0 || getuid() == 0; }

Result<gid_t> group_id(std::string_view name) {
  std::string n(name);
  struct group* g = getgrnam(n.c_str());
  if (!g) return Status::error("group '" + n + "' does not exist (run mailctl init as root)");
  return g->gr_gid;
}

Result<uid_t> user_id(std::string_view name) {
  std::string n(name);
  struct passwd* p = getpwnam(n.c_str());
  if (!p) return Status::error("user '" + n + "' does not exist (run mailctl init as root)");
  return p->pw_uid;
}

Result<Ids> resolve(std::string_view program) {
  const Identity* id = identity_for(program);
  if (!id) return Status::error("no identity for program " + std::string(program));
  Ids ids;
  auto uid = user_id(id->user);
  if (!uid) return uid.status();
  ids.uid = *uid;
  auto gid = group_id(id->primary_group);
  if (!gid) return gid.status();
  ids.gid = *gid;
  ids.groups.push_back(ids.gid);
  for (auto g : id->groups) {
    auto sg = group_id(g);
    if (!sg) return sg.status();
    ids.groups.push_back(*sg);
  }
  std::sort(ids.groups.begin(), ids.groups.end());
  ids.groups.erase(std::unique(ids.groups.begin(), ids.groups.end()), ids.groups.end());
  return ids;
}

void drop(std::string_view program) {
  std::string prog(program);
  if (running_as_root()) {
    auto ids = resolve(program);
    if (!ids) log::fatal("%s", ids.message().c_str());
    if (ids->uid == 0) log::panic("refusing to run %s as root", prog.c_str());
    if (setgroups(ids->groups.size(), ids->groups.data()) != 0) log::panic("setgroups failed");
    if (setresgid(ids->gid, ids->gid, ids->gid) != 0) log::panic("setresgid failed");
    if (setresuid(ids->uid, ids->uid, ids->uid) != 0) log::panic("setresuid failed");
    clear_caps_and_lock();
    // Read back everything.
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || r != ids->uid || e != ids->uid || s != ids->uid)
      log::panic("uid mismatch after drop");
    if (getresgid(&rg, &eg, &sg) != 0 || rg != ids->gid || eg != ids->gid || sg != ids->gid)
      log::panic("gid mismatch after drop");
    int n = getgroups(0, nullptr);
    std::vector<gid_t> now(static_cast<std::size_t>(n > 0 ? n : 0));
    if (n > 0 && getgroups(n, now.data()) != n) log::panic("getgroups failed");
    std::sort(now.begin(), now.end());
    if (now != ids->groups) log::panic("supplementary groups mismatch after drop");
    if (setuid(0) == 0) log::panic("could regain root after drop");
    verify_caps();
    log::info("running as %s (uid %d)", std::string(identity_for(program)->user).c_str(),
              static_cast<int>(ids->uid));
    return;
  }
  clear_caps_and_lock();
  verify_caps();
}

}  // namespace common::privsep
