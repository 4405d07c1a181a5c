// The text of the Dovecot configuration (see dovecot_conf.hpp). Setting names and
// defaults: Dovecot 2.3 (doveconf -d).
#include "mailctl/dovecot_conf.hpp"

namespace mailctl {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string conf(const DovecotParams& p) {
  std::string uid = std::to_string(p.mail_uid);
  std::string t;
  t += std::string(kDovecotMarker) + "\n";
  t += "# mailctl replaces this file when run again: put changes in local.conf next to it.\n";
  t += "# Start Dovecot with: dovecot -c " + p.dir + "/dovecot.conf\n\n";
  t += "protocols = imap\n";
  t += "listen = *, ::\n\n";
  t += "# TLS with Mailbag's certificate: STARTTLS on 143, implicit TLS on 993 (RFC 8314).\n";
  if (!p.tls_cert_file.empty() && !p.tls_key_file.empty()) {
    t += "ssl = yes\n";
    t += "ssl_cert = <" + p.tls_cert_file + "\n";
    t += "ssl_key = <" + p.tls_key_file + "\n";
    t += "ssl_min_protocol = TLSv1.2\n";
  } else {
    t += "# tls_cert_file and tls_key_file are not set in mailbag.conf: no TLS, and no login.\n";
    t += "ssl = no\n";
  }
  t += "# Passwords only under TLS (or from this host).\n";
  t += "disable_plaintext_auth = yes\n";
  t += "auth_mechanisms = plain login\n\n";
  t += "# One password store: Mailbag's accounts, asked through its authentication daemon,\n";
  t += "# which also holds failed logins back and blocks a client past its failure limit\n";
  t += "# (as for POP3), and grants IMAP-before-SMTP with pop_before_smtp. Dovecot neither\n";
  t += "# delays nor caches on its own, so a changed password counts at the next login.\n";
  t += "auth_failure_delay = 0\n";
  t += "auth_cache_size = 0\n";
  t += "passdb {\n";
  t += "  driver = checkpassword\n";
  t += "  args = " + p.dir + "/checkpassword\n";
  t += "}\n";
  t += "# Every account's Maildir is mail_directory/DOMAIN/LOCAL, owned by " + p.mail_user + ":" +
       p.mail_group + ".\n";
  t += "userdb {\n";
  t += "  driver = static\n";
  t += "  args = uid=" + p.mail_user + " gid=" + p.mail_group + " home=" + p.mail_directory +
       "/%d/%n allow_all_users=yes\n";
  t += "}\n";
  t += "first_valid_uid = " + uid + "\n";
  t += "last_valid_uid = " + uid + "\n";
  t += "# The passdb program runs as Dovecot's auth process: a user of its own, in the group\n";
  t += "# that may reach the authentication daemon (which lets it ask about IMAP only).\n";
  t += "service auth {\n";
  t += "  user = " + p.auth_user + "\n";
  t += "  extra_groups = " + p.auth_group + "\n";
  t += "}\n\n";
  t += "# Mailbag's Maildirs as they are (Maildir++ folders .Sent, .Junk, ...).\n";
  t += "mail_location = maildir:~\n";
  t += "namespace inbox {\n";
  t += "  inbox = yes\n";
  t += "  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }\n";
  t += "  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n";
  t += "  mailbox Trash {\n    special_use = \\Trash\n    auto = subscribe\n  }\n";
  t += "  # The folder Mailbag's filtering delivers junk into.\n";
  t += "  mailbox " + p.junk_folder + " {\n    special_use = \\Junk\n    auto = subscribe\n  }\n";
  t += "}\n\n";
  t += "# One quota, enforced by both: the Maildir++ maildirsize file that Mailbag's delivery\n";
  t += "# keeps, with the limit Mailbag writes in it (mailctl user/domain set quota=).\n";
  t += "mail_plugins = $mail_plugins quota\n";
  t += "protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}\n";
  t += "plugin {\n";
  t += "  quota = maildir:User quota\n";
  t += "  quota_grace = 0%%\n";
  t += "}\n\n";
  t += "service imap-login {\n";
  t += "  inet_listener imap {\n    port = 143\n  }\n";
  t += "  inet_listener imaps {\n    port = 993\n    ssl = yes\n  }\n";
  t += "}\n\n";
  t += "# The administrator's additions and overrides (listen, ports, log_path, ...).\n";
  t += "!include_try local.conf\n";
  return t;
}

std::string wrapper(const DovecotParams& p) {
  std::string t = "#!/bin/sh\n";
  t += std::string(kDovecotMarker) + "\n";
  t += "# Dovecot's passdb program: Mailbag's, with Mailbag's configuration.\n";
  t += "exec " + shell_quote(p.checkpassword) + " -c " + shell_quote(p.mailbag_config) + " \"$@\"\n";
  return t;
}

}  // namespace

std::vector<GeneratedFile> dovecot_files(const DovecotParams& p) {
  return {{"dovecot.conf", conf(p), 0644, ""}, {"checkpassword", wrapper(p), 0755, ""}};
}

bool written_by_mailctl(std::string_view existing) { return has_marker(existing, kDovecotMarker); }

}  // namespace mailctl
