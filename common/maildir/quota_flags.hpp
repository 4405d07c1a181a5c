// "Mailbox full" flags: data_directory/quota/<user@domain>, one small file per user whose
// Maildir++ usage has reached the quota. smtpd may not read the Maildirs (it is not in
// group mb-mail), yet should refuse such recipients at RCPT with 452 4.2.2 rather than
// take the message and defer it; so the local agent, which checks the quota at every
// delivery, publishes the state here (mb-vmail:mb-acct 0750) and smtpd (mb-acct) only
// stats the file. local also re-checks the flagged users every minute, so that room
// made with POP3, Dovecot or any mail client clears the flag soon after. A file holds
// "<bytes used> <quota> <unix time>\n" for administrators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace common::maildir {

// Is `address` usable as a flag file name (a lower-case account key: no '/', no leading
// '.', not empty, at most 255 octets)?
bool valid_flag_name(const std::string& address);

Status set_full_flag(const std::string& dir, const std::string& address, std::int64_t used,
                     std::int64_t quota, std::int64_t now);
Status clear_full_flag(const std::string& dir, const std::string& address);
// False when absent or unreadable: a missing flag never refuses mail.
bool has_full_flag(const std::string& dir, const std::string& address);
// The addresses flagged now.
Result<std::vector<std::string>> full_flags(const std::string& dir);

}  // namespace common::maildir
