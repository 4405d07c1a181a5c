// The messages the local agent writes itself, composed as pure text (LF line ends, as
// in the queue) so that their format is unit-tested: the auto-reply (RFC 3834 3), the
// quota warning, and the trace lines put in front of a message it sends on (forwards,
// alias fan-outs), which make loops visible to the next hop (Received count, RFC 5321
// 6.3) and to itself (Delivered-To).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/headers.hpp"

namespace delivery::local {

// RFC 2047 encoded-words ("=?UTF-8?B?...?=", folded) for header text that is not plain
// ASCII; plain ASCII comes back as it is. Control characters become spaces.
std::string header_text(std::string_view text);

struct ReplyInput {
  std::string from;     // the user's address
  std::string to;       // the envelope sender of the subject message (RFC 3834 4)
  std::string subject;  // configured; "" -> "Auto: " + the original subject (3.1.5)
  std::string text;     // the body as configured (UTF-8)
  const Headers* original = nullptr;
  std::string hostname;  // for the Message-ID
  std::string new_id;    // queue id of the reply
  std::int64_t now = 0;
};

// The reply: From the user, To the sender, Subject, Date, Message-ID, In-Reply-To and
// References (RFC 3834 3.1.5, 3.1.6), Auto-Submitted: auto-replied (3.1.7), a text/plain
// UTF-8 body.
std::string compose_reply(const ReplyInput& in);

struct QuotaWarningInput {
  std::string user;
  std::int64_t used = 0;
  std::int64_t quota = 0;
  std::int64_t percent = 0;  // the configured mark
  std::string hostname;
  std::string new_id;
  std::int64_t now = 0;
};
// A short note from MAILER-DAEMON@hostname to the user (Auto-Submitted: auto-generated).
std::string compose_quota_warning(const QuotaWarningInput& in);

// "Received: by <hostname> (Mailbag local) id <id> for <rcpt>; <date>" (the "for" only
// with one recipient) and one "Delivered-To:" line per address, for a message sent on.
std::string forward_trace(std::string_view hostname, std::string_view new_id,
                          const std::vector<std::string>& recipients,
                          const std::vector<std::string>& delivered_to, std::int64_t now);

// A body as the queue wants it: LF line ends, lines cut at 998 octets (RFC 5322 2.1.1),
// a final LF.
std::string normalize_body(std::string_view text);

// "1.5 MiB", "900 KiB", "12 bytes", for people.
std::string human_size(std::int64_t bytes);

}  // namespace delivery::local
