// The text of `mailctl queue list` (mailq-like, in the layout of Postfix's mailq) and
// `mailctl queue show`: pure functions from the queue manager's listing and a queue
// file's envelope to what the administrator reads (no I/O; queue_format_test.cpp).
// Times are shown in the local time zone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ipc/messages.hpp"
#include "common/spool/queue_file.hpp"

namespace mailctl {

// The listing: a title line, then per message "ID[!*] size arrival sender" (! held,
// * being delivered), each undelivered recipient under the text of its last failure
// "(...)", a blank line, and "-- N Kbytes in M Requests." at the end; "Mail queue is
// empty" for none.
std::string format_mailq(const std::vector<common::ipc::QueueEntry>& entries);

// The same listing piece by piece, for a queue too large to hold at once: the text of
// each entry as it arrives (the title line before the first), then end() for the last
// line. format_mailq(entries) is add() of each and end().
class MailqWriter {
 public:
  std::string add(const common::ipc::QueueEntry& e);
  std::string end() const;

 private:
  std::uint64_t total_ = 0;
  std::size_t count_ = 0;
};

// What `queue show` knows about one message.
struct ShowInput {
  common::spool::Envelope env;                   // from the queue file
  std::string header;                            // the message's header block (LF line ends)
  bool header_cut = false;                       // the header went on past what was read
  std::optional<common::ipc::QueueEntry> state;  // from the queue manager, if it answered
  std::string no_state;                          // why there is no state (e.g. not running)
  std::int64_t now = 0;
};
std::string format_show(const ShowInput& in);

// The header block at the start of `message`: everything before the first empty line
// (LF line ends), without it. `complete` is false when no empty line was found.
std::string_view header_block(std::string_view message, bool* complete);

// Text from the queue file or a remote server made safe for a terminal: control
// characters (except TAB), DEL, C1 controls and invalid UTF-8 bytes become \xNN.
std::string terminal_safe(std::string_view text);

// Splits `text` into lines of at most `width` columns at blanks (a longer word gets a
// line of its own).
std::vector<std::string> wrap(std::string_view text, std::size_t width);

// "2026-11-24 18:40:01", local time.
std::string format_time(std::int64_t t);
// "3m", "1h 5m", "2d 4h", "now" for <= 0: how long until something.
std::string format_span(std::int64_t seconds);

}  // namespace mailctl
