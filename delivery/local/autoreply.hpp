// Auto-replies ("vacation", "out of office") of the local agent, by RFC 3834: when to
// answer (section 2) as a pure decision, and the per-user record of whom was answered
// when (<maildir>/mailbag-vacation), so each sender gets at most one reply per
// interval_days. The reply itself is composed in notices.hpp and queued like any mail.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/result.hpp"
#include "delivery/headers.hpp"

namespace delivery::local {

inline constexpr const char* kVacationFile = "mailbag-vacation";
inline constexpr std::size_t kMaxVacationEntries = 10000;

struct ReplyFacts {
  const common::accounts::Autoreply* autoreply = nullptr;
  std::string user;                                 // the user's address (lower-case)
  const std::set<std::string>* known_as = nullptr;  // addresses that lead to the user
  std::string sender;                               // envelope sender, "" for <>
  const Headers* headers = nullptr;
  std::int64_t now = 0;
  std::string delimiter;  // recipient_delimiter
};

// nullopt: reply. Otherwise why not (for the log). RFC 3834 2: never to a null return
// path; not to Auto-Submitted other than "no", Precedence bulk/list/junk, mailing lists
// (List-Id, List-Post, List-Unsubscribe), daemons and list owners (MAILER-DAEMON,
// owner-*, *-request, ...); "vacation" responses only when one of the user's addresses
// is in To/Cc/Bcc (or Resent-*); and only between the configured start and end.
std::optional<std::string> reply_refusal(const ReplyFacts& f);

// Who was answered when, per user, in the user's Maildir.
class VacationLog {
 public:
  explicit VacationLog(std::string maildir) : maildir_(std::move(maildir)) {}
  // Was `sender` answered less than `interval_days` before `now`?
  common::Result<bool> recently_answered(const std::string& sender, std::int64_t now,
                                         std::int64_t interval_days);
  // Records a reply to `sender` at `now`, dropping entries older than the interval (and
  // the oldest past kMaxVacationEntries). Written through tmp/ and rename(2).
  common::Status record(const std::string& sender, std::int64_t now, std::int64_t interval_days);

 private:
  std::string maildir_;
};

}  // namespace delivery::local
