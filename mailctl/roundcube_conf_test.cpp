// Tests of the Roundcube configuration mailctl writes (roundcube_conf.hpp).
#include "mailctl/roundcube_conf.hpp"

#include <doctest/doctest.h>

namespace {

mailctl::RoundcubeParams params() {
  mailctl::RoundcubeParams p;
  p.dir = "/etc/mailbag/roundcube";
  p.state_dir = "/var/lib/mailbag/roundcube";
  p.smtp = "127.0.0.1:587";
  p.tls_name = "mail.example.org";
  p.des_key = "abcdefghijklmnopqrstuvwx";
  return p;
}

bool has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

}  // namespace

TEST_CASE("roundcube_files: IMAP through Dovecot, submission with the user's login, SQLite state") {
  auto files = mailctl::roundcube_files(params());
  REQUIRE(files.size() == 2);
  const auto& conf = files[0].text;
  CHECK(files[0].name == "config.inc.php");
  CHECK(files[0].mode == 0640);  // des_key: the web server's group only
  CHECK(files[0].group == "www-data");
  CHECK(conf.starts_with("<?php\n"));
  CHECK(mailctl::has_marker(conf, mailctl::kRoundcubeMarker));
  CHECK(has(conf, "$config['imap_host'] = 'tls://127.0.0.1:143';\n"));
  CHECK(has(conf, "$config['smtp_host'] = 'tls://127.0.0.1:587';\n"));
  CHECK(has(conf, "$config['smtp_user'] = '%u';\n$config['smtp_pass'] = '%p';\n"));
  CHECK(has(conf, "'peer_name' => 'mail.example.org'"));
  CHECK(has(conf, "'verify_peer' => true, 'verify_peer_name' => true"));
  CHECK(has(conf, "$config['db_dsnw'] = 'sqlite:////var/lib/mailbag/roundcube/roundcube.db?mode=0600';\n"));
  CHECK(has(conf, "$config['temp_dir'] = '/var/lib/mailbag/roundcube/temp/';\n"));
  CHECK(has(conf, "$config['des_key'] = 'abcdefghijklmnopqrstuvwx';\n"));
  CHECK(has(conf, "$config['junk_mbox'] = 'Junk';\n"));
  CHECK(conf.ends_with("include __DIR__ . '/local.inc.php';\n}\n"));
  CHECK(mailctl::roundcube_des_key(conf) == "abcdefghijklmnopqrstuvwx");

  const auto& sh = files[1].text;
  CHECK(files[1].name == "roundcube-serve");
  CHECK(files[1].mode == 0755);
  CHECK(sh.starts_with("#!/bin/sh\n"));
  CHECK(mailctl::has_marker(sh, mailctl::kRoundcubeMarker));
  CHECK(has(sh, "export RCUBE_CONFIG_PATH=/etc/roundcube:/etc/mailbag/roundcube\n"));
  CHECK(has(sh, "setpriv --reuid=www-data --regid=www-data"));
  CHECK(has(sh, "php -S \"$listen\" -t /var/lib/roundcube/public_html\n"));
}

TEST_CASE("roundcube_des_key: only from a file mailctl wrote, only a whole key") {
  CHECK(mailctl::roundcube_des_key("<?php\n$config['des_key'] = 'abcdefghijklmnopqrstuvwx';\n") == "");
  std::string ours = "<?php\n" + std::string(mailctl::kRoundcubeMarker) + "\n";
  CHECK(mailctl::roundcube_des_key(ours + "$config['des_key'] = 'short';\n") == "");
  CHECK(mailctl::roundcube_des_key(ours + "$config['des_key'] = 'abcdefghijklmnopqrstuvwx") == "");
  CHECK(mailctl::roundcube_des_key(ours) == "");
}

TEST_CASE("local_endpoint: wildcards become loopback, odd values nothing") {
  CHECK(mailctl::local_endpoint("0.0.0.0:587") == "127.0.0.1:587");
  CHECK(mailctl::local_endpoint("*:587") == "127.0.0.1:587");
  CHECK(mailctl::local_endpoint("[::]:587") == "[::1]:587");
  CHECK(mailctl::local_endpoint("127.0.0.5:2526") == "127.0.0.5:2526");
  CHECK(mailctl::local_endpoint("[2001:db8::1]:587") == "[2001:db8::1]:587");
  CHECK(mailctl::local_endpoint("587") == "");
  CHECK(mailctl::local_endpoint("host:") == "");
  CHECK(mailctl::local_endpoint("host:58x") == "");
  CHECK(mailctl::local_endpoint("ho'st:587") == "");
}

TEST_CASE("php_string: quotes and backslashes escaped") {
  CHECK(mailctl::php_string("a'b\\c") == "'a\\'b\\\\c'");
  CHECK(mailctl::php_string("") == "''");
}
