// A configuration file that mailctl writes for another program (Dovecot, Roundcube):
// its name, text and mode, and the marker test that lets mailctl replace only files it
// wrote itself. Pure; write_generated.hpp puts the files on disk.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace mailctl {

struct GeneratedFile {
  std::string name;  // relative to the directory it is written into
  std::string text;
  mode_t mode = 0644;
  std::string group;  // "" keeps root's group; else the file's group when run as root
};

// True when `existing` (a file's current text) starts with `marker`, after a first line
// that must come before it (a script's #! line, PHP's <?php): only then may mailctl
// replace the file.
inline bool has_marker(std::string_view existing, std::string_view marker) {
  if (existing.starts_with("#!") || existing.starts_with("<?php")) {
    auto nl = existing.find('\n');
    if (nl == std::string_view::npos) return false;
    existing.remove_prefix(nl + 1);
  }
  return existing.starts_with(marker);
}

}  // namespace mailctl
