// From what the SMTP session reports to what the queue manager records: one
// mail::Verdict per recipient. When a remote server's reply decided, the text starts
// with that reply ("550 5.1.1 <x>: unknown user (host mx.example.test[192.0.2.5], in
// reply to RCPT TO)"), so that bounces quote it as an smtp Diagnostic-Code (RFC 3464
// 2.3.6); otherwise it says what happened locally.
#pragma once

#include <string>

#include "common/mail/outcome.hpp"
#include "common/smtp/client.hpp"

namespace delivery::remote {

// `peer` names the server: "mx.example.test[192.0.2.5]:25".
common::mail::Verdict verdict_for(const common::smtp::Report& rep, const std::string& peer);

// The text for a failure to connect: "connect to mx.example.test[192.0.2.5]:25:
// Connection refused".
common::mail::Verdict connect_failure(const std::string& peer, const std::string& why);

}  // namespace delivery::remote
