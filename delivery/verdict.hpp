// Verdicts shared by the delivery agents (local, remote): the per-recipient answers in
// ipc::DeliverDone, with RFC 3463 enhanced status codes, and the mapping of local I/O
// errors to temporary failures (a disk problem here is never the sender's fault).
#pragma once

#include <string>
#include <string_view>

#include "common/mail/outcome.hpp"

namespace delivery {

using common::mail::Outcome;
using common::mail::Verdict;

inline Verdict ok(std::string text) { return Verdict{Outcome::kOk, "2.0.0", std::move(text)}; }
inline Verdict temporary(std::string status, std::string text) {
  return Verdict{Outcome::kTemporary, std::move(status), std::move(text)};
}
inline Verdict permanent(std::string status, std::string text) {
  return Verdict{Outcome::kPermanent, std::move(status), std::move(text)};
}

// A failed local file operation: always temporary. RFC 3463 3.3 X.2.2 "mailbox full"
// for EDQUOT, 3.4 X.3.1 "mail system full" for ENOSPC, X.3.0 for anything else (EIO,
// EROFS, ...). `what` says what failed and already carries the errno text.
Verdict io_failure(int err, std::string_view what);

}  // namespace delivery
