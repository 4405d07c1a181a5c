// The changes mail filters ask for at the end of a message (common/milter/client.hpp),
// applied to the message and its envelope before the message is queued: add, insert,
// change and delete header, change sender, add and delete recipient, replace body,
// quarantine (the envelope's hold reason: the queue manager takes the message in on
// hold).
// Pure: text in, text out. The session (session_milter.cpp) reads the spooled message
// and writes the edited one as a new queue file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/milter/client.hpp"
#include "common/result.hpp"
#include "common/spool/queue_file.hpp"

namespace smtpd {

// The header fields and body of a message with LF line ends (as in the queue file).
struct SplitMessage {
  std::vector<common::milter::Header> headers;  // value: after the colon, folding kept
  std::string_view body;                        // after the empty line
};
SplitMessage split_message(std::string_view message);

// Applies `mods` in order to `message` and to the sender and recipients of `env`. A
// spam flag a filter writes ("X-Spam: Yes", "X-Spam-Flag: YES") sets env->junk, the
// server's junk verdict that local delivers into the Junk folder.
// UNTRUSTED: the modifications come from a filter. A header whose name is not a field
// name (RFC 5322 2.2) or whose value holds a bare CR or LF (anything but folding, RFC
// 5322 2.2.3), an address that does not parse, or a body with a bare CR is refused
// with an error (the filter's default action applies); nothing is half-applied.
common::Status apply_edits(const std::vector<common::milter::Reply>& mods, std::string* message,
                           common::spool::Envelope* env);

}  // namespace smtpd
