// Where everything lives under the three configured roots. One place, so every program
// agrees on the paths (see mailbag-queue(5) for the spool and its owners and modes).
//   spool_directory/incoming/  drop directory: writers create unlinked files here
//   spool_directory/queue/     queue files, owned by the queue manager
//   spool_directory/corrupt/   queue files that failed validation, moved aside
//   spool_directory/state/     queue state database (LMDB)
//   spool_directory/private/   internal sockets
//   spool_directory/signer/    the DKIM signer's socket (delivery/dkim/)
//   spool_directory/mta-sts/   cached MTA-STS policies (delivery/remote/mta_sts.hpp)
//   spool_directory/tlsrpt/    TLS sessions per day for the reports (common/tlsrpt/store.hpp)
//   data_directory/accounts.mdb, passwd.mdb, relay.mdb, srs.secret, quota/, dkim/
#pragma once

#include <string>

#include "common/config/config.hpp"

namespace common::spool {

struct Layout {
  std::string spool;
  std::string data;
  std::string mail;

  explicit Layout(const config::Config& cfg)
      : spool(cfg.spool_directory), data(cfg.data_directory), mail(cfg.mail_directory) {}

  std::string incoming() const { return spool + "/incoming"; }
  std::string queue() const { return spool + "/queue"; }
  std::string corrupt() const { return spool + "/corrupt"; }
  std::string state() const { return spool + "/state"; }
  std::string private_dir() const { return spool + "/private"; }
  std::string submit_socket() const { return private_dir() + "/submit"; }
  std::string local_socket() const { return private_dir() + "/local"; }
  std::string remote_socket() const { return private_dir() + "/remote"; }
  std::string control_socket() const { return private_dir() + "/control"; }
  // The authentication daemon's (common/authd), made by it as root, mode 0660 group mb-auth.
  std::string auth_socket() const { return private_dir() + "/auth"; }
  // The TLS key daemon's (common/tlskey), made by it as root, mode 0660 group mb-auth
  // (the group of smtpd and pop3d); it also checks each peer's uid.
  std::string tlskey_socket() const { return private_dir() + "/tlskey"; }
  // The POP3 mailbox process's (pop3d/mailbox), made by it as root, mode 0660 group
  // mb-pop3d: only pop3d hands clients over there.
  std::string pop3_mailbox_socket() const { return private_dir() + "/pop3-mailbox"; }
  std::string queue_file(const std::string& id) const { return queue() + "/" + id; }

  std::string accounts_db() const { return data + "/accounts.mdb"; }
  std::string passwd_db() const { return data + "/passwd.mdb"; }
  std::string relay_db() const { return data + "/relay.mdb"; }
  // SRS key (common/mail/srs.hpp), root:root 0600, made by mailctl init; read as root by
  // the two daemons that use it (local, smtpd) before they drop privileges.
  std::string srs_secret() const { return data + "/srs.secret"; }
  // One file per user whose mailbox is full (common/maildir/quota_flags.hpp): local
  // writes them, smtpd reads them; mb-vmail:mb-acct 0750.
  std::string quota_flags() const { return data + "/quota"; }
  // The DKIM key store (common/dkim/store.hpp): mb-dkim 0711, keys 0600, `keys` 0644.
  std::string dkim_keys() const { return data + "/dkim"; }
  // The DKIM signer's socket, in a directory of its own (mb-dkim:mb-remote 0710): only
  // the remote agent reaches it.
  std::string signer_dir() const { return spool + "/signer"; }
  std::string sign_socket() const { return signer_dir() + "/sign"; }
  // Cached MTA-STS policies (RFC 8461), one file per domain: mb-remote 0700, written by
  // the remote agent only.
  std::string mta_sts_cache() const { return spool + "/mta-sts"; }
  // TLS session records per day (RFC 8460), written by the remote agent, taken by
  // `mailctl tlsrpt send` (as mb-remote): mb-remote 0700.
  std::string tlsrpt() const { return spool + "/tlsrpt"; }
};

}  // namespace common::spool
