// The text of the Roundcube configuration (see roundcube_conf.hpp). Setting names and
// defaults: Roundcube 1.6 (Debian's /etc/roundcube/defaults.inc.php).
#include "mailctl/roundcube_conf.hpp"

namespace mailctl {

namespace {

// TLS towards Dovecot and smtpd, checked against Mailbag's certificate name. A
// self-signed certificate (make run's, a test's) is accepted as such, a CA-signed one
// is verified against the system's CAs; the name must match either way.
std::string tls_options(const RoundcubeParams& p) {
  return "['ssl' => ['verify_peer' => true, 'verify_peer_name' => true, 'peer_name' => " +
         php_string(p.tls_name) + ", 'allow_self_signed' => true]]";
}

std::string config(const RoundcubeParams& p) {
  auto set = [](const std::string& key, const std::string& value) {
    return "$config[" + php_string(key) + "] = " + value + ";\n";
  };
  std::string t = "<?php\n";
  t += std::string(kRoundcubeMarker) + "\n";
  t += "// mailctl replaces this file when run again: put changes in local.inc.php next to it.\n";
  t += "// Read after Debian's " + p.debian_config_dir + "/config.inc.php (roundcube-serve sets\n";
  t += "// RCUBE_CONFIG_PATH), so every setting here wins over Debian's.\n\n";
  t += "// Logins go to Dovecot's IMAP, which checks Mailbag's passwords (mailctl dovecot\n";
  t += "// config); STARTTLS (tls://) even on loopback.\n";
  t += set("imap_host", php_string("tls://" + p.imap));
  t += set("imap_conn_options", tls_options(p));
  t += set("imap_vendor", "'dovecot'");
  t += "// Mail goes out through Mailbag's submission port with the user's own login\n";
  t += "// (RFC 6409, RFC 4954: STARTTLS, then AUTH with the IMAP login and password), so\n";
  t += "// smtpd applies its sender check and writes ESMTPSA in Received.\n";
  t += set("smtp_host", php_string("tls://" + p.smtp));
  t += set("smtp_user", "'%u'");
  t += set("smtp_pass", "'%p'");
  t += set("smtp_conn_options", tls_options(p));
  t += set("smtp_helo_host", php_string(p.tls_name));
  t += "// Users log in with their full address, which is also their sender address.\n";
  t += set("username_domain", "''");
  t += set("mail_domain", "''");
  t += set("identities_level", "1");
  t += "// Dovecot's special-use folders (Junk is where Mailbag's filtering files junk).\n";
  t += set("drafts_mbox", "'Drafts'");
  t += set("sent_mbox", "'Sent'");
  t += set("trash_mbox", "'Trash'");
  t += set("junk_mbox", "'Junk'");
  t += set("create_default_folders", "false");
  t += "// Roundcube's own state: sessions, preferences, contacts (SQLite), owned by " + p.web_user + ".\n";
  t += set("db_dsnw", php_string("sqlite:///" + p.state_dir + "/roundcube.db?mode=0600"));
  t += set("temp_dir", php_string(p.state_dir + "/temp/"));
  t += set("log_dir", php_string(p.state_dir + "/logs/"));
  t += set("des_key", php_string(p.des_key));
  t += set("product_name", "'Mailbag Webmail'");
  t += set("support_url", "''");
  t += set("skin", "'elastic'");
  t += set("plugins", "[]");
  t += set("enable_spellcheck", "false");
  t += set("enable_installer", "false");
  t += set("include_host_config", "false");
  t += "\n// The administrator's additions and overrides.\n";
  t += "if (is_file(__DIR__ . '/local.inc.php')) {\n  include __DIR__ . '/local.inc.php';\n}\n";
  return t;
}

std::string serve(const RoundcubeParams& p) {
  std::string docroot = p.roundcube_dir + "/public_html";
  std::string t = "#!/bin/sh\n";
  t += std::string(kRoundcubeMarker) + "\n";
  t += "# Serves Roundcube with this directory's configuration through PHP's built-in web\n";
  t += "# server on ADDRESS:PORT (default 127.0.0.1:8080; for other hosts put a TLS reverse\n";
  t += "# proxy in front). As root it first becomes " + p.web_user + ": PHP never runs as root.\n";
  t += "#   usage: roundcube-serve [ADDRESS:PORT]\n";
  t += "listen=${1:-127.0.0.1:8080}\n";
  t += "if [ ! -r " + docroot + "/index.php ] || ! command -v php >/dev/null; then\n";
  t += "  echo 'roundcube-serve: Roundcube is not installed (apt-get install roundcube-core "
       "roundcube-sqlite3)' >&2\n";
  t += "  exit 1\nfi\n";
  t += "export RCUBE_CONFIG_PATH=" + p.debian_config_dir + ":" + p.dir + "\n";
  t += "export ROUNDCUBE_CONFIG_DIR=" + p.dir + "\n";
  t += "export PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4}\n";
  t += "if [ \"$(id -u)\" = 0 ]; then\n";
  t += "  exec setpriv --reuid=" + p.web_user + " --regid=" + p.web_user +
       " --init-groups --inh-caps=-all -- php -S \"$listen\" -t " + docroot + "\n";
  t += "fi\n";
  t += "exec php -S \"$listen\" -t " + docroot + "\n";
  return t;
}

}  // namespace

std::vector<GeneratedFile> roundcube_files(const RoundcubeParams& p) {
  // config.inc.php holds des_key: readable by the web server's group only.
  return {{"config.inc.php", config(p), 0640, p.web_user}, {"roundcube-serve", serve(p), 0755, ""}};
}

std::string roundcube_des_key(std::string_view existing) {
  if (!has_marker(existing, kRoundcubeMarker)) return "";
  constexpr std::string_view key = "$config['des_key'] = '";
  auto at = existing.find(key);
  if (at == std::string_view::npos) return "";
  auto start = at + key.size();
  auto end = existing.find('\'', start);
  if (end == std::string_view::npos || end - start != 24) return "";
  return std::string(existing.substr(start, end - start));
}

std::string local_endpoint(std::string_view listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == listen.size()) return "";
  std::string_view host = listen.substr(0, colon), port = listen.substr(colon + 1);
  for (char c : port)
    if (c < '0' || c > '9') return "";
  if (host.empty() || host == "*" || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-' || c == ':' || c == '[' || c == ']'))
      return "";
  return std::string(host) + ":" + std::string(port);
}

std::string php_string(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace mailctl
