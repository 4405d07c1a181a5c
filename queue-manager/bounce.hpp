// Delivery status notifications (RFC 3464): the bounce that returns a message to its
// sender when recipients failed, and the optional warning that it is delayed. Composed
// as pure text (LF line ends, as in the queue) so that the format is unit-tested; the
// manager writes it into the queue like any other message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "queue-manager/message.hpp"

namespace qmgr {

// kDelivered: the success notice a recipient's NOTIFY=SUCCESS asks for (RFC 3461 4.1).
enum class NoticeKind { kFailed, kDelayed, kDelivered };

struct NoticeInput {
  NoticeKind kind = NoticeKind::kFailed;
  const Message* msg = nullptr;
  std::vector<const Rcpt*> rcpts;  // the failed (or still deferred) recipients
  std::string hostname;            // Reporting-MTA
  std::string to;                  // who receives the notice
  std::string new_id;              // queue id of the notice itself
  std::string original_headers;    // header block of the original message (LF ends)
  std::int64_t now = 0;
  std::int64_t expires = 0;  // end of the message's queue lifetime
  // RFC 3461 requests: the ENVID, each recipient's ORCPT ("type;address", or empty) and,
  // for kDelivered, whether it was relayed onwards rather than delivered here (both
  // parallel to `rcpts`, or empty). With `full` (RET=FULL), `original` is the whole
  // message and goes back as message/rfc822 instead of its headers.
  std::string envid;
  std::vector<std::string> orcpts;
  std::vector<bool> relayed;
  bool full = false;
  std::string original;
};

// The notice as a complete RFC 5322 message: multipart/report; report-type=
// delivery-status, with a human-readable part, the message/delivery-status part and the
// original headers as text/rfc822-headers (RFC 6522).
std::string compose_notice(const NoticeInput& in);

// The header block at the start of `message` (up to the first empty line), cut at a line
// boundary to at most `max` bytes.
std::string header_block(const std::string& message, std::size_t max);

// RFC 5322 3.3 date-time for `t` in UTC.
std::string rfc5322_date(std::int64_t t);

}  // namespace qmgr
