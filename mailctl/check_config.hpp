// `mailctl check-config`: every problem in a configuration file, not just the first.
// Syntax errors come from the one parser (common/config); after each, the offending
// line is blanked and the file parsed again. Then a few checks across keys. Pure, so
// tests feed it text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailctl {

// Every problem as "path:line: message" (or "path: message" for a default value).
std::vector<std::string> check_config_text(std::string_view text, const std::string& path);

// For a file without problems: settings that work but that an administrator should know
// the consequences of (no TLS certificate, POP3 passwords in clear), as
// "path[:line]: note: ...". They do not change the exit status.
std::vector<std::string> config_notes(std::string_view text, const std::string& path);

}  // namespace mailctl
