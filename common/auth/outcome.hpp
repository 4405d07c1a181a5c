// What a network daemon learns about one login attempt (smtpd's AUTH, pop3d's USER/PASS
// and AUTH): the authentication daemon's verdict (client.hpp) combined with the daemon's
// own per-client failure limit (common/io/client_limits). Sessions turn it into their
// protocol's reply (RFC 4954 6 codes for SMTP, RFC 2449 / RFC 3206 response codes for
// POP3).
#pragma once

#include <string>

namespace common::auth {

struct Outcome {
  enum class Kind {
    kOk,        // `account` (and, for POP3, `maildir`) are set
    kFailed,    // no such account, a disabled one, or a wrong password
    kBlocked,   // failed, or refused unchecked: the client's address is blocked for now
    kTempFail,  // the authentication daemon cannot answer: try again later
  };
  Kind kind = Kind::kFailed;
  std::string account;  // canonical "local@domain"
  std::string maildir;  // absolute Maildir path (POP3 only)
};

}  // namespace common::auth
