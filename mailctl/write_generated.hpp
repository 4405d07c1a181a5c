// Writing the files of a generated configuration (generated_file.hpp) into a directory:
// first every check, then every write, so a refusal changes nothing; each file written
// whole under a temporary name and renamed into place, and only over a file that carries
// mailctl's marker (a configuration the administrator wrote is never touched).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "mailctl/context.hpp"
#include "mailctl/generated_file.hpp"

namespace mailctl {

std::string parent_dir(const std::string& path);  // "." for a bare name
std::string absolute_path(const std::string& path);
// An absolute path of letters, digits and / . - _ + only: safe inside Dovecot's and
// PHP's configuration and a shell script without quoting rules of their own.
bool plain_path(const std::string& path);

// Writes `files` into `dir` (created 0755 if missing), printing "wrote PATH" for each on
// ctx.out. `what` names the command in complaints ("dovecot config").
int write_generated(Context& ctx, std::string_view what, const std::string& dir,
                    const std::vector<GeneratedFile>& files, std::string_view marker);

// The text of `dir`/`name` when it exists and carries `marker`, else "".
std::string read_generated(const std::string& dir, const std::string& name, std::string_view marker);

}  // namespace mailctl
