// The Dovecot configuration that `mailctl dovecot config` writes (IMAP over Mailbag's
// Maildirs, passwords checked by Mailbag's authentication daemon through
// mailbag-checkpassword). Pure: the files' text from the parameters, so that what Dovecot
// gets is tested without Dovecot; dovecot.cpp writes them. Every file starts with
// kMarker, and mailctl overwrites only files that do: a Dovecot configuration it did not
// write is never touched.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "mailctl/generated_file.hpp"

namespace mailctl {

inline constexpr std::string_view kDovecotMarker = "# Written by mailctl dovecot config (Mailbag).";

struct DovecotParams {
  std::string dir;             // where the files go (their own paths refer to it)
  std::string mailbag_config;  // mailbag.conf, for mailbag-checkpassword -c
  std::string checkpassword;   // the mailbag-checkpassword program
  std::string mail_directory;  // Maildirs: mail_directory/DOMAIN/LOCAL
  std::string tls_cert_file;   // "" (no TLS configured): plaintext-only IMAP refused anyway
  std::string tls_key_file;
  uid_t mail_uid = 0;  // mb-vmail, the Maildirs' owner
  gid_t mail_gid = 0;  // mb-mail
  std::string mail_user = "mb-vmail";
  std::string mail_group = "mb-mail";
  std::string auth_user = "mb-imapauth";  // Dovecot's auth process, hence the passdb program
  std::string auth_group = "mb-auth";     // may connect to the authentication daemon
  std::string junk_folder = "Junk";       // where Mailbag's filtering files junk
};

// dovecot.conf (complete: `dovecot -c DIR/dovecot.conf`; ends with `!include_try
// local.conf`, the administrator's file, which mailctl never writes) and checkpassword
// (the passdb program's wrapper, which passes mailbag.conf's path).
std::vector<GeneratedFile> dovecot_files(const DovecotParams& p);

// True when `existing` (a file's current text) was written by mailctl (starts with the
// marker): only then may it be replaced. A script's marker follows its #! line.
bool written_by_mailctl(std::string_view existing);

}  // namespace mailctl
