// The Roundcube configuration that `mailctl roundcube config` writes: webmail that logs
// in through Dovecot's IMAP (set up by `mailctl dovecot config`, so Mailbag's passwords)
// and sends through Mailbag's submission port with the user's own login, its state in
// SQLite. Pure: the files' text from the parameters (tested without PHP); roundcube.cpp
// writes them. Every file carries kRoundcubeMarker, and mailctl replaces only files that
// do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailctl/generated_file.hpp"

namespace mailctl {

// A comment both in PHP and in the shell.
inline constexpr std::string_view kRoundcubeMarker = "# Written by mailctl roundcube config (Mailbag).";

struct RoundcubeParams {
  std::string dir;        // where the files go (config.inc.php, roundcube-serve)
  std::string state_dir;  // the SQLite database, temp/ and logs/, owned by web_user
  // Dovecot's IMAP (STARTTLS) and Mailbag's submission port (STARTTLS, then AUTH),
  // as host:port; both on this machine.
  std::string imap = "127.0.0.1:143";
  std::string smtp = "127.0.0.1:587";
  std::string tls_name;               // the name Mailbag's certificate carries (mailbag.conf's hostname)
  std::string des_key;                // 24 characters: Roundcube encrypts the session's password with it
  std::string web_user = "www-data";  // PHP runs as this user (Debian's web server user)
  std::string roundcube_dir = "/var/lib/roundcube";  // Debian's roundcube-core
  std::string debian_config_dir = "/etc/roundcube";  // its defaults.inc.php, read first
};

// config.inc.php (read after Debian's; ends by including local.inc.php, the
// administrator's file, which mailctl never writes) and roundcube-serve (starts PHP's
// web server on this configuration, as web_user).
std::vector<GeneratedFile> roundcube_files(const RoundcubeParams& p);

// The des_key of a config.inc.php mailctl wrote before ("" if none): kept on a rewrite,
// so that sessions survive it.
std::string roundcube_des_key(std::string_view existing);

// "host:port" for Roundcube to reach one of mailbag.conf's listen addresses from this
// machine: a wildcard address (0.0.0.0, [::], *) becomes loopback; "" if unusable.
std::string local_endpoint(std::string_view listen);

// A PHP single-quoted string literal.
std::string php_string(std::string_view s);

}  // namespace mailctl
