// mailctl etrn HOST DOMAIN (RFC 1985): see etrn.cpp. Exit 0 when the server answered
// 250-253, 1 otherwise (refused, unreachable), 64 for a bad HOST or DOMAIN.
#pragma once

#include <string>

#include "mailctl/context.hpp"

namespace mailctl {

int cmd_etrn(Context& ctx, const std::string& host, const std::string& domain);

}  // namespace mailctl
