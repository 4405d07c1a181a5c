// mailctl's subcommands. Each returns an exit code from args.hpp and prints its result
// on ctx.out and its complaints on ctx.err. Bad input changes nothing.
#pragma once

#include <string>
#include <vector>

#include "mailctl/args.hpp"
#include "mailctl/context.hpp"

namespace mailctl {

int cmd_domain_add(Context& ctx, const std::string& domain);
int cmd_domain_del(Context& ctx, const std::string& domain, bool force);
int cmd_domain_list(Context& ctx);

int cmd_user_add(Context& ctx, const std::string& address);
int cmd_user_del(Context& ctx, const std::string& address);
int cmd_user_list(Context& ctx, const std::string& domain);
int cmd_user_passwd(Context& ctx, const std::string& address);

// Checks the file at `path`; prints every problem as "file:line: message" on `out`.
int cmd_check_config(const std::string& path, std::FILE* out);

// The whole tool: parses `argv` (without the program name), loads the configuration
// and runs the command. `as_root` is normally geteuid() == 0; tests pass false.
int run(const std::vector<std::string>& argv, bool as_root, std::FILE* in, std::FILE* out,
        std::FILE* err);

}  // namespace mailctl
