// The decisions of mailbag-checkpassword, Dovecot's passdb program for IMAP logins (the
// qmail checkpassword interface, cr.yp.to/checkpwd/interface.html, with Dovecot's
// extensions): what it reads on descriptor 3, which login names it passes on, and how an
// answer of the authentication daemon becomes its exit status. Pure, so that it is
// tested without Dovecot; main.cpp does the I/O.
// UNTRUSTED: the input on descriptor 3 is what an IMAP client sent, through Dovecot.
#pragma once

#include <string>
#include <string_view>

#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace imap {

// The checkpassword interface reads at most 512 bytes: "login NUL password NUL", then
// an optional time stamp and NUL that Dovecot does not send.
inline constexpr std::size_t kMaxInput = 512;

struct Credentials {
  std::string login;
  std::string password;
};

// Splits descriptor 3's input. An error: no NUL-terminated login and password, an
// empty field, or more than kMaxInput bytes.
common::Result<Credentials> parse_input(std::string_view in);

// A login name passed to the authentication daemon and, as the canonical account, back
// to Dovecot in USER: 1 to 255 bytes of letters, digits and . - _ + @ (Dovecot's
// auth_username_chars plus '+'). Anything else is refused before it is asked about:
// Dovecot expands %-variables in its templates (the Maildir path is built from the user
// name), reads tab and newline as field separators in its auth protocol, and '/' or
// '*' mean paths and wildcards elsewhere in its configuration.
bool safe_login(std::string_view name);

// Exit statuses (Dovecot's db-checkpassword): 1 is "authentication failed" (no such
// user, a disabled one, a wrong password, a refused name), 111 a temporary failure.
// Success is not a status: the program executes the reply program instead.
inline constexpr int kExitFailed = 1;
inline constexpr int kExitTempFail = 111;
// What the daemon's answer means for the exit: 0 means success (execute the reply).
int exit_for(common::ipc::AuthResult r);

}  // namespace imap
