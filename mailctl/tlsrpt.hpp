// `mailctl tlsrpt send [--today]`: the daily aggregate TLS reports (RFC 8460). Takes the
// day files of TLS sessions the remote agent recorded in spool/tlsrpt (every day before
// today, and today's so far with --today), looks up each policy domain's
// `_smtp._tls` TXT record and queues one report mail per domain to its mailto: rua
// addresses (common/tlsrpt/report.hpp), which the remote agent DKIM-signs like any mail
// from a local domain. Domains without a record get none; a domain whose lookup fails
// for now keeps its sessions for the next run; https: rua URIs are not used. Runs as
// mb-remote (the owner of spool/tlsrpt) with group mb-drop to submit. Meant for a
// daily timer (mailbag-tlsrpt.timer).
#pragma once

#include "mailctl/context.hpp"

namespace mailctl {

int cmd_tlsrpt_send(Context& ctx, bool include_today);

}  // namespace mailctl
