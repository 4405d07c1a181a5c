// listen_unix against the owner of the socket directory: the queue manager binds its
// sockets as root inside spool/private, a directory its unprivileged user owns. Anything
// listen_unix did to the socket by path after bind could be redirected by that user
// (swap the socket for a symlink to /etc/shadow between bind and chmod). This test
// interposes chmod/chown and, at the moment listen_unix would call them, plays that user:
// it replaces the socket with a symlink to a victim file. The victim must stay untouched.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/ipc/socket.hpp"

namespace {

// While set, a path-based chmod or chown first swaps `race_path` for a symlink to the victim.
const char* race_path = nullptr;
std::string race_victim;
int race_calls = 0;

void attack(const char* path) {
  if (race_path == nullptr || std::string(path) != race_path) return;
  ++race_calls;
  ::unlink(race_path);
  REQUIRE(::symlink(race_victim.c_str(), race_path) == 0);
}

}  // namespace

// Interposed for this test binary only: a call from listen_unix lands here first.
extern "C" int chmod(const char* path, mode_t mode) {
  attack(path);
  return static_cast<int>(::syscall(SYS_fchmodat, AT_FDCWD, path, mode));
}

extern "C" int chown(const char* path, uid_t uid, gid_t gid) {
  attack(path);
  return static_cast<int>(::syscall(SYS_fchownat, AT_FDCWD, path, uid, gid, 0));
}

TEST_CASE("listen_unix never changes the socket by path after bind") {
  char tmpl[] = "/tmp/mailbag-sock-race-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  std::string path = dir + "/submit";
  race_victim = dir + "/victim";
  common::io::UniqueFd v(::open(race_victim.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  REQUIRE(v.valid());
  REQUIRE(::fchmod(v.get(), 0600) == 0);
  race_path = path.c_str();
  race_calls = 0;
  auto l = common::ipc::listen_unix(path, 0666, ::getgid());
  race_path = nullptr;
  CHECK(race_calls == 0);
  struct stat st;
  REQUIRE(::stat(race_victim.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  if (l.is_ok()) {
    // The socket got its mode and group all the same.
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0666);
    CHECK(st.st_gid == ::getgid());
  }
  // The process umask is restored.
  mode_t now = ::umask(022);
  ::umask(now);
  CHECK(now != static_cast<mode_t>(~0666 & 0777));
  ::unlink(path.c_str());
  ::unlink(race_victim.c_str());
  ::rmdir(dir.c_str());
}
