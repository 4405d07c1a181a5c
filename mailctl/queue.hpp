// mailctl queue list|show|flush|delete|hold|release: the administrator's view of the
// mail queue and the queue manager's controls, over its control socket (control.hpp).
// `show` reads the queue file itself (read-only, safe while the queue manager runs) for
// the envelope and header, and asks the queue manager for the delivery state.
// Exit codes: 0 done, 2 no such message, 64 not a queue id, 69 queue manager not
// running, 74 queue file unreadable, 75 no answer in time, 77 no permission.
#pragma once

#include <string>

#include "mailctl/context.hpp"

namespace mailctl {

int cmd_queue_list(Context& ctx);
int cmd_queue_show(Context& ctx, const std::string& id);
// `command` is "flush" (id may be "": every deferred message), "delete", "hold" or
// "release".
int cmd_queue_action(Context& ctx, const std::string& command, const std::string& id);

}  // namespace mailctl
