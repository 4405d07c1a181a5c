// The identity table (see users.hpp).
#include "common/privsep/users.hpp"

namespace common::privsep {

const std::vector<Identity>& identities() {
  static const std::vector<Identity> t = {
      {"smtpd", "mb-smtpd", "mb-smtpd", {"mb-drop", "mb-acct", "mb-auth", "mb-relay"}},
      {"queue-manager", "mb-queue", "mb-queue", {"mb-drop", "mb-acct"}},
      {"local", "mb-vmail", "mb-mail", {"mb-acct", "mb-drop"}},
      {"remote", "mb-remote", "mb-remote", {}},
      // The POP3 login process: the network and the passwords in transit, no Maildir.
      {"pop3d", "mb-pop3d", "mb-pop3d", {"mb-auth", "mb-relay"}},
      // The built-in checks: no shared group at all (no queue, no mailbox, no database).
      {"checks", "mb-checks", "mb-checks", {}},
      // The DKIM signer: the only reader of the private keys; no shared group.
      {"dkim", "mb-dkim", "mb-dkim", {}},
      // Not a daemon: mailctl run by root edits accounts.mdb and passwd.mdb as this user.
      {"mailctl", "mb-admin", "mb-admin", {"mb-acct", "mb-authd"}},
      // The authentication daemon: the only reader of passwd.mdb (its group); no network.
      // mb-relay: it stamps relay.mdb for good IMAP logins (pop_before_smtp).
      {"mailbag-auth", "mb-authd", "mb-authd", {"mb-acct", "mb-relay"}},
      // The TLS key daemon: the only process that reads the TLS private key; no network,
      // no shared group (its group, mb-tlskey, may be given read access to the key file).
      {"mailbag-tlskey", "mb-tlskey", "mb-tlskey", {}},
      // The POP3 mailbox process: the Maildirs (of logins the authentication daemon
      // vouched for with a token); no network, no password.
      {"pop3-mailbox", "mb-pop3mbox", "mb-pop3mbox", {"mb-mail", "mb-auth"}},
      // Dovecot's passdb program (pop3d/checkpassword/): run by Dovecot's auth process, which the
      // configuration of `mailctl dovecot config` runs as this user. It may only ask the
      // authentication daemon about IMAP logins; no database, no Maildir, no spool.
      {"mailbag-checkpassword", "mb-imapauth", "mb-imapauth", {"mb-auth"}},
  };
  return t;
}

const Identity* identity_for(std::string_view program) {
  for (const auto& i : identities())
    if (i.program == program) return &i;
  return nullptr;
}

}  // namespace common::privsep
