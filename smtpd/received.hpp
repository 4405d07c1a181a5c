// The trace header smtpd puts at the top of every message it accepts (RFC 5321 4.4),
// and the RFC 5322 3.3 date it carries. Pure text building, tested in session_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smtpd {

struct ReceivedInfo {
  std::string helo;            // as the client sent it (cleaned here for the header)
  std::string client_literal;  // "[192.0.2.1]" or "[IPv6:2001:db8::1]"
  std::string hostname;        // ours
  std::string protocol;        // RFC 3848 / RFC 6531 3.7.3 WITH value, e.g. "ESMTPS"
  std::string queue_id;
  std::string tls;        // common::tls::describe(), empty without TLS
  std::string for_rcpt;   // set only when the message has exactly one recipient
  std::int64_t time = 0;  // UNIX time
};

// "Received: from helo ([ip])\n\tby host (Mailbag) with ESMTPS id X\n\t(using ...)\n
//  \tfor <rcpt>; date\n", LF line ends as in the queue file.
std::string received_header(const ReceivedInfo& info);

// RFC 5322 3.3 date-time in local time: "Tue, 01 Jul 2003 10:52:37 +0200"
// (common::mail::rfc5322_date).
std::string rfc5322_date(std::int64_t t);

// The HELO name as it may appear in a header: printable ASCII without the characters
// that have meaning in a Received field ("(", ")", ";", "\\", '"', "<", ">"); others
// become "?". UTF-8 names are kept only when `utf8` (RFC 6531 3.7.3).
std::string header_safe_name(std::string_view name, bool utf8);

}  // namespace smtpd
