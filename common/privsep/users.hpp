// The unprivileged users and groups of Mailbag, in one table: which user each program
// runs as and which groups give it access to what (see mailbag(7) and mailbag-queue(5)).
//   mb-drop   create files in spool/incoming, connect to private/submit (smtpd, sendmail,
//             local for forwards and auto-replies)
//   mb-acct   read accounts.mdb (domains, users, aliases; no password hashes)
//   mb-auth   connect to the authentication daemon (private/auth): smtpd for AUTH,
//             pop3d for login, pop3-mailbox to redeem login tokens, mailbag-checkpassword
//             (user mb-imapauth, under Dovecot) for IMAP logins. Only the daemon's
//             own user mb-authd (primary group mb-authd) reads passwd.mdb (password
//             hashes).
//   mb-relay  relay.mdb (POP- and IMAP-before-SMTP): pop3d and mailbag-auth write,
//             smtpd reads
//   mb-mail   the Maildirs (local delivers, pop3-mailbox serves POP3; not pop3d)
// The DKIM signer's user mb-dkim alone reads the private keys (data_directory/dkim); the
// TLS key daemon's user mb-tlskey alone holds the TLS private key.
// And the user mb-admin, which owns accounts.mdb and passwd.mdb: root's mailctl edits
// them as mb-admin, since the daemons can write their lock files.
#pragma once

#include <string_view>
#include <vector>

namespace common::privsep {

struct Identity {
  std::string_view program;
  std::string_view user;
  std::string_view primary_group;
  std::vector<std::string_view> groups;  // supplementary
};

// Every shared group, for account creation.
inline constexpr std::string_view kSharedGroups[] = {"mb-drop", "mb-acct", "mb-auth", "mb-relay", "mb-mail"};

const std::vector<Identity>& identities();
// nullptr if `program` has no identity of its own (admin tools run as their caller;
// "mailctl" names the user its database work runs as when started by root).
const Identity* identity_for(std::string_view program);

}  // namespace common::privsep
