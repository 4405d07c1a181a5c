// mailctl etrn HOST DOMAIN (RFC 1985): see etrn.cpp. Exit 0 when the server answered
// 250-253, 1 otherwise (refused, unreachable), 64 for a bad HOST or DOMAIN. mailctl wakeup
// runs it for every configured ETRN host and domain.
#pragma once

#include <string>

#include "mailctl/context.hpp"

namespace mailctl {

int cmd_etrn(Context& ctx, const std::string& host, const std::string& domain);

// mailctl wakeup: ETRN for every etrn_domains at every etrn_hosts now, as remote(8) does
// at start and every wakeup_every (for a link-up hook). Exit 0 when every one was
// answered 250-253, 1 otherwise; each answer printed as "HOST DOMAIN: REPLY".
int cmd_wakeup(Context& ctx);

}  // namespace mailctl
