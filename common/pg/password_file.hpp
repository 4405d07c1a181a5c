// postgresql_password_file: the database passwords of the Mailbag roles, one
// "ROLE PASSWORD" line each ('#' comments and blank lines skipped; the password is the
// rest of the line, so it may contain spaces). Root's alone (mode 0600 or 0400): each
// program reads it before it drops root and keeps only its own role's line.
// UNTRUSTED: edited by hand.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::pg {

// The password of `role` in the file's text: "" when the role has no line. A line
// without a password, or a role named twice, is an error naming the line.
Result<std::string> parse_password_file(std::string_view text, std::string_view role);
// Reads and checks the file (owner and mode when running as root), then parses it.
Result<std::string> read_password_file(const std::string& path, std::string_view role);

}  // namespace common::pg
