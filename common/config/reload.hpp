// Reloading mailbag.conf in a running daemon (SIGHUP), the one mechanism every daemon
// uses: the file is read again and checked like at start; a key a running process cannot
// take (a socket bound as root, a file opened before the privilege drop, a path) keeps
// its old value and is logged as needing a restart; the daemon's hooks then rebuild what
// they derived from the configuration and re-read certificates and in-memory databases.
// Sessions in progress keep what they started with; new ones get the new values.
#pragma once

#include <event2/event.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.hpp"
#include "common/io/event.hpp"

namespace common::config {

// The keys that take effect only at a restart, as listed in mailbag.conf(5) RELOADING.
std::span<const std::string_view> restart_keys();
bool needs_restart(std::string_view key);

// What a reload changes for one program.
struct ReloadDiff {
  std::vector<std::string> applied;  // changed keys the program now uses
  std::vector<std::string> kept;     // changed keys that need a restart (old value kept)
};

// Pure: compares the running `old` with the re-read `fresh` over the keys `program`
// reads, and sets every restart-only key of `fresh` back to its value in `old`.
ReloadDiff merge_reload(const Config& old, Config* fresh, std::string_view program);

// Ignores SIGHUP until a Reloader watches it, so that a reload sent while a daemon
// starts (or to one that has nothing to reload) cannot kill it. load_or_exit calls it.
void ignore_sighup_until_watched();

class Reloader {
 public:
  // Runs after each reload, with the configuration as it was before (the live one,
  // `*live`, already holds the new values; equal when the file was unchanged or bad).
  using Hook = std::function<void(const Config& before)>;

  // REQUIRES: `live` and `base` outlive this object.
  Reloader(event_base* base, Config* live, std::string program);
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  void on_reload(Hook h) { hooks_.push_back(std::move(h)); }
  // One reload now (what SIGHUP does): re-reads live->path and writes the changed keys
  // that need no restart into *live (no other member is touched). A file that cannot be read
  // or has an error is logged with file:line and the running configuration stays;
  // the hooks run in every case, so certificates and databases are re-read anyway.
  void reload();

 private:
  static void on_sighup(evutil_socket_t, short, void* self) noexcept;

  Config* live_;
  std::string program_;
  std::vector<Hook> hooks_;
  io::EventPtr hup_;
};

}  // namespace common::config
