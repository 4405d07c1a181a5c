// Tests of the Dovecot configuration mailctl writes (dovecot_conf.hpp).
#include "mailctl/dovecot_conf.hpp"

#include <doctest/doctest.h>

namespace {

mailctl::DovecotParams params() {
  mailctl::DovecotParams p;
  p.dir = "/etc/mailbag/dovecot";
  p.mailbag_config = "/etc/mailbag/mailbag.conf";
  p.checkpassword = "/usr/local/sbin/mailbag-checkpassword";
  p.mail_directory = "/var/mail/mailbag";
  p.tls_cert_file = "/etc/mailbag/tls/fullchain.pem";
  p.tls_key_file = "/etc/mailbag/tls/privkey.pem";
  p.mail_uid = 997;
  p.mail_gid = 996;
  return p;
}

bool has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

}  // namespace

TEST_CASE("dovecot_files: IMAP over Mailbag's Maildirs, its certificate, its passwords, its quota") {
  auto files = mailctl::dovecot_files(params());
  REQUIRE(files.size() == 2);
  const auto& conf = files[0].text;
  CHECK(files[0].name == "dovecot.conf");
  CHECK(mailctl::written_by_mailctl(conf));
  CHECK(has(conf, "protocols = imap\n"));
  CHECK(has(
      conf,
      "ssl = yes\nssl_cert = </etc/mailbag/tls/fullchain.pem\nssl_key = </etc/mailbag/tls/privkey.pem\n"));
  CHECK(has(conf, "disable_plaintext_auth = yes\n"));
  CHECK(has(conf, "inet_listener imap {\n    port = 143\n"));
  CHECK(has(conf, "inet_listener imaps {\n    port = 993\n    ssl = yes\n"));
  CHECK(has(conf, "driver = checkpassword\n  args = /etc/mailbag/dovecot/checkpassword\n"));
  CHECK(has(conf, "args = uid=mb-vmail gid=mb-mail home=/var/mail/mailbag/%d/%n allow_all_users=yes\n"));
  CHECK(has(conf, "first_valid_uid = 997\nlast_valid_uid = 997\n"));
  CHECK(has(conf, "service auth {\n  user = mb-imapauth\n  extra_groups = mb-auth\n}"));
  CHECK(has(conf, "auth_failure_delay = 0\n"));
  CHECK(has(conf, "auth_cache_size = 0\n"));
  CHECK(has(conf, "mail_location = maildir:~\n"));
  CHECK(has(conf, "quota = maildir:User quota\n"));
  CHECK_FALSE(has(conf, "quota_rule"));  // the limit is the one in maildirsize
  for (const char* box : {"Drafts", "Sent", "Trash", "Junk"})
    CHECK(has(conf,
              std::string("mailbox ") + box + " {\n    special_use = \\" + box + "\n    auto = subscribe\n"));
  CHECK(conf.ends_with("!include_try local.conf\n"));
  const auto& sh = files[1].text;
  CHECK(files[1].name == "checkpassword");
  CHECK(files[1].mode == 0755);
  CHECK(sh.starts_with("#!/bin/sh\n"));
  CHECK(mailctl::written_by_mailctl(sh));
  CHECK(has(sh, "exec '/usr/local/sbin/mailbag-checkpassword' -c '/etc/mailbag/mailbag.conf' \"$@\"\n"));
}

TEST_CASE("dovecot_files: without a certificate, no TLS") {
  auto p = params();
  p.tls_cert_file.clear();
  auto conf = mailctl::dovecot_files(p)[0].text;
  CHECK(has(conf, "ssl = no\n"));
  CHECK_FALSE(has(conf, "ssl_cert"));
  CHECK(has(conf, "disable_plaintext_auth = yes\n"));
}

TEST_CASE("written_by_mailctl: only files that start with the marker") {
  CHECK(mailctl::written_by_mailctl(std::string(mailctl::kDovecotMarker) + "\nprotocols = imap\n"));
  CHECK(mailctl::written_by_mailctl("#!/bin/sh\n" + std::string(mailctl::kDovecotMarker) + "\nexec x\n"));
  CHECK_FALSE(mailctl::written_by_mailctl("protocols = imap pop3\n"));
  CHECK_FALSE(mailctl::written_by_mailctl("## Dovecot configuration file\n"));
  CHECK_FALSE(mailctl::written_by_mailctl("#!/bin/sh\nexec /usr/bin/checkpassword\n"));
  CHECK_FALSE(mailctl::written_by_mailctl(""));
  CHECK_FALSE(mailctl::written_by_mailctl("#!/bin/sh"));
}
