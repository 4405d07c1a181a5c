// sendmail's way into the queue, the same as smtpd's (mailbag-ipc(7), common/spool/submit.hpp):
// an unlinked queue file created in spool/incoming (which sendmail may write through
// its setgid group mb-drop, but not list or read), handed with ipc::Submit over
// spool/private/submit (protocol mailbag-submit, role "sendmail"), and a wait for the
// queue manager's SubmitDone: only then is the message safe.
#pragma once

#include <sysexits.h>

#include <string>
#include <string_view>

#include "common/spool/layout.hpp"
#include "common/spool/queue_file.hpp"

namespace sendmail {

// How sendmail ends: a sysexits(3) code (EX_*) and, unless it is 0, what to tell the user.
struct Exit {
  int code = EX_OK;
  std::string error;
};

// Writes the queue file and waits at most `timeout_ms` for the queue manager.
Exit submit(const common::spool::Layout& layout, const common::spool::Envelope& env, std::string_view message,
            int timeout_ms);

}  // namespace sendmail
