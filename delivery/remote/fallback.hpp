// fallback_relay: where the remote agent hands recipients whose own servers (the MX
// hosts, or the relayhost) could not take them now. Pure decisions, tested without
// sockets; the dispatcher (dispatcher.cpp) moves the recipients between destinations.
// Like Postfix's smtp_fallback_relay: only temporary failures go on (a 5xx is the
// destination's final word), never for a domain we are an MX host of (RFC 5321 5.1: the
// mail would come back to us), and each fallback at most once per attempt, in order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/mail/outcome.hpp"
#include "common/smtp/next_hop.hpp"

namespace delivery::remote {

// `current`: the fallback that made this attempt (-1: the direct attempt). `self_mx`: we
// are among the destination's MX hosts. The index of the fallback to try next, if any.
std::optional<int> next_fallback(const std::vector<common::smtp::NextHop>& fallbacks, int current,
                                 bool self_mx, const common::mail::Verdict& v);

// The verdict when the last fallback failed too: still temporary (the queue manager
// retries from the start, direct first), with the first failure and the last one.
common::mail::Verdict after_fallbacks(const std::string& first_failure, const common::mail::Verdict& last);

}  // namespace delivery::remote
