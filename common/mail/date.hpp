// The RFC 5322 3.3 date-time that Mailbag writes into Date: and Received: headers
// (smtpd's trace header, sendmail's Date: and Received:), in local time with the
// numeric zone and English day and month names whatever the locale.
#pragma once

#include <cstdint>
#include <string>

namespace common::mail {

// "Tue, 01 Jul 2003 10:52:37 +0200".
std::string rfc5322_date(std::int64_t unix_time);

}  // namespace common::mail
