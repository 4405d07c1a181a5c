// The one declarative table of mailbag.conf keys. Add a key here, give it a member in
// Config, and document it in man/mailbag.conf.5 (a unit test checks the last part).
// Add a knob only when two real deployments need different values.
#include "common/checks/dnsbl.hpp"
#include "common/config/config.hpp"
#include "common/config/relay_domain.hpp"
#include "common/dns/records.hpp"
#include "common/mail/address.hpp"
#include "common/milter/spec.hpp"
#include "common/net/cidr.hpp"
#include "common/smtp/next_hop.hpp"

namespace common::config {
namespace {

Status check_listen(std::string_view v) {
  for (const auto& item : split_list(v)) {
    auto hp = parse_host_port(item);
    if (!hp) return hp.status();
  }
  return Status::ok();
}

// dns_resolver: empty, or an IP address with an optional port ("[v6]:port" for IPv6).
Status check_resolver(std::string_view v) {
  if (v.empty()) return Status::ok();
  auto spec = dns::forwarder_spec(v);
  return spec ? Status::ok() : spec.status();
}

Status check_next_hop(std::string_view v) {
  if (v.empty()) return Status::ok();
  auto h = smtp::parse_next_hop(v);
  return h ? Status::ok() : h.status();
}

Status check_next_hops(std::string_view v) {
  for (const auto& item : split_list(v)) MB_TRY(check_next_hop(item));
  return Status::ok();
}

Status check_abs_or_empty(std::string_view v) {
  if (v.empty() || v.front() == '/') return Status::ok();
  return Status::error("must be an absolute path (or empty)");
}

Status check_domains(std::string_view v) {
  for (const auto& d : split_list(v))
    if (!mail::is_domain(d, false)) return Status::error("not a domain name: " + d);
  return Status::ok();
}

Status check_domain_or_empty(std::string_view v) {
  if (v.empty() || mail::is_domain(v, false)) return Status::ok();
  return Status::error("not a domain name");
}

// etrn_networks: CIDR networks, and the word relay_networks for that list (config.cpp
// finish() expands it).
Status check_etrn_networks(std::string_view v) {
  std::vector<std::string> nets;
  for (auto& n : split_list(v))
    if (n != "relay_networks") nets.push_back(std::move(n));
  auto l = net::NetworkList::parse(nets);
  return l ? Status::ok() : l.status();
}

// relay_networks may not cover the Internet: "no open relay, ever". The broadest private
// ranges are 10.0.0.0/8 (RFC 1918) and fc00::/7 (RFC 4193), so a shorter prefix is refused.
Status check_relay_networks(std::string_view v) {
  auto l = net::NetworkList::parse(split_list(v));
  if (!l) return l.status();
  for (const auto& n : l->networks())
    if (n.prefix < (n.base.v6 ? 7 : 8))
      return Status::error(n.str() +
                           " is wider than any private network (/8 for IPv4, /7 for IPv6): "
                           "every host in it could relay through this server, an open relay");
  return Status::ok();
}

Status check_mailbox_or_empty(std::string_view v) {
  if (v.empty()) return Status::ok();
  auto a = mail::parse_mailbox(v, false);
  return a ? Status::ok() : a.status();
}

// Characters that may separate a user from a tag ("user+tag"); never '@', '.', quotes.
Status check_delimiter(std::string_view v) {
  if (v.size() > 4) return Status::error("at most 4 delimiter characters");
  for (char c : v)
    if (std::string_view("+-_=#~").find(c) == std::string_view::npos)
      return Status::error("delimiter characters must be among + - _ = # ~");
  return Status::ok();
}

// dnsbl_zones, dnswl_zones: zone[=filter][*weight], comma separated (common/checks/dnsbl.hpp).
Status check_dns_lists(std::string_view v) {
  auto l = checks::parse_lists(split_list(v), false);
  return l ? Status::ok() : l.status();
}

constexpr std::int64_t kMax = INT64_MAX;

// The words of the enumerated keys, in the order error messages list them.
constexpr Choice kLogTargets[] = {{"syslog", static_cast<int>(log::Target::kSyslog)},
                                  {"stderr", static_cast<int>(log::Target::kStderr)}};
constexpr Choice kQuotaExceeded[] = {{"defer", static_cast<int>(QuotaExceeded::kDefer)},
                                     {"bounce", static_cast<int>(QuotaExceeded::kBounce)}};
// kNone is not a choice: it is only what remote falls back to within one delivery.
constexpr Choice kTlsPolicies[] = {{"may", static_cast<int>(smtp::TlsPolicy::kMay)},
                                   {"encrypt", static_cast<int>(smtp::TlsPolicy::kEncrypt)},
                                   {"verify", static_cast<int>(smtp::TlsPolicy::kVerify)}};
constexpr Choice kTempErrorActions[] = {{"accept", static_cast<int>(TempErrorAction::kAccept)},
                                        {"defer", static_cast<int>(TempErrorAction::kDefer)}};
constexpr Choice kAccountsBackends[] = {{"lmdb", static_cast<int>(AccountsBackend::kLmdb)},
                                        {"postgresql", static_cast<int>(AccountsBackend::kPostgresql)}};

// Each entry of milters/submission_milters: unix:/path or inet:addr:port, options after ';'.
Status check_milters(std::string_view v) {
  for (const auto& e : split_list(v)) {
    auto s = milter::parse_spec(e, milter::DefaultAction::kTempfail, {});
    if (!s) return s.status();
  }
  return Status::ok();
}

Status check_milter_action(std::string_view v) {
  auto a = milter::parse_default_action(v);
  return a ? Status::ok() : a.status();
}

// relay_domain_settings: domain;lifetime=D;max_queued=S;release=CIDR+CIDR per entry.
Status check_relay_domain_settings(std::string_view v) {
  auto l = parse_relay_domains(split_list(v));
  return l ? Status::ok() : l.status();
}

}  // namespace

const std::vector<KeyDef>& keys() {
  static const std::vector<KeyDef> table = {
      // General
      {"hostname", Kind::kString, "", 0, 0, "smtpd queue-manager local remote pop3d sendmail pop3-mailbox",
       "fully qualified name of this host, used in greetings and headers (default: the system's name)",
       &Config::hostname, nullptr},
      {"log_target", Kind::kEnum, "syslog", 0, 0, "*", "where log lines go: syslog (facility mail) or stderr",
       &Config::log_target, nullptr, kLogTargets},
      {"spool_directory", Kind::kPath, "/var/spool/mailbag", 0, 0, "*",
       "queue, drop directory and internal sockets", &Config::spool_directory, nullptr},
      {"data_directory", Kind::kPath, "/var/lib/mailbag", 0, 0, "*", "account and relay databases",
       &Config::data_directory, nullptr},
      {"mail_directory", Kind::kPath, "/var/mail/vhosts", 0, 0, "local pop3d mailctl",
       "root of the Maildirs, one folder per domain and user", &Config::mail_directory, nullptr},
      {"tls_cert_file", Kind::kString, "", 0, 0, "smtpd pop3d",
       "PEM certificate chain for STARTTLS and implicit TLS (empty: no TLS)", &Config::tls_cert_file,
       nullptr},
      {"tls_key_file", Kind::kString, "", 0, 0, "smtpd pop3d mailbag-tlskey",
       "PEM private key matching tls_cert_file", &Config::tls_key_file, nullptr},

      // smtpd
      {"smtp_listen", Kind::kList, "0.0.0.0:25", 0, 0, "smtpd remote",
       "addresses for SMTP (MX) service, host:port, comma separated", &Config::smtp_listen, check_listen},
      {"smtpd_max_sessions", Kind::kInt, "1000", 1, 1000000, "smtpd",
       "concurrent SMTP sessions; more get 421 4.3.2", &Config::smtpd_max_sessions, nullptr},
      {"smtpd_timeout", Kind::kDuration, "5m", 1, 86400, "smtpd",
       "idle time allowed while waiting for a command (RFC 5321 4.5.3.2.7)", &Config::smtpd_timeout, nullptr},
      {"smtpd_data_timeout", Kind::kDuration, "3m", 1, 86400, "smtpd",
       "idle time allowed between two blocks of message data (RFC 5321 4.5.3.2.5)",
       &Config::smtpd_data_timeout, nullptr},
      {"message_size_limit", Kind::kSize, "10M", 1024, kMax / 2, "smtpd queue-manager pop3d sendmail",
       "largest message accepted, in bytes (suffixes K, M, G)", &Config::message_size_limit, nullptr},
      {"smtpd_max_recipients", Kind::kInt, "100", 1, 100000, "smtpd",
       "recipients per message; more get 452 4.5.3 (RFC 5321 4.5.3.1.8)", &Config::smtpd_max_recipients,
       nullptr},
      {"submission_listen", Kind::kList, "0.0.0.0:587", 0, 0, "smtpd",
       "addresses for mail submission (RFC 6409): MAIL needs AUTH first; add e.g. :5190 here",
       &Config::submission_listen, check_listen},
      {"submissions_listen", Kind::kList, "0.0.0.0:465", 0, 0, "smtpd",
       "addresses for submission over implicit TLS (RFC 8314); empty: none", &Config::submissions_listen,
       check_listen},
      {"odmr_listen", Kind::kList, "", 0, 0, "smtpd",
       "addresses for On-Demand Mail Relay (RFC 2645, ATRN; e.g. 0.0.0.0:366); empty: none",
       &Config::odmr_listen, check_listen},
      {"relay_networks", Kind::kList, "127.0.0.0/8, ::1/128", 0, 0, "smtpd dkim",
       "client networks (CIDR) that may relay without AUTH and are exempt from client limits",
       &Config::relay_networks, check_relay_networks},
      {"relay_networks_allow_public", Kind::kBool, "no", 0, 0, "smtpd",
       "yes: allow public relay_networks wider than /16 (IPv4) or /32 (IPv6)",
       &Config::relay_networks_allow_public, nullptr},
      {"relay_domains", Kind::kList, "", 0, 0, "smtpd",
       "domains we are backup MX for: any recipient accepted, relayed to their better MX",
       &Config::relay_domains, check_domains},
      {"etrn_networks", Kind::kList, "relay_networks", 0, 0, "smtpd",
       "client networks (CIDR) that may use ETRN (RFC 1985) for relay_domains; the word relay_networks "
       "stands for that list (add the primary servers you are backup MX for)",
       &Config::etrn_networks, check_etrn_networks},
      {"smtpd_max_sessions_per_client", Kind::kInt, "50", 1, 1000000, "smtpd",
       "concurrent SMTP sessions from one client address; more get 421 4.7.0",
       &Config::smtpd_max_sessions_per_client, nullptr},
      {"smtpd_max_connect_rate", Kind::kInt, "120", 0, 1000000, "smtpd",
       "new connections per client address per minute (0: no limit); more get 421 4.7.0",
       &Config::smtpd_max_connect_rate, nullptr},
      {"smtpd_auth_failure_limit", Kind::kInt, "10", 1, 1000000, "smtpd",
       "failed AUTH attempts from one address within smtpd_auth_block_time before it is blocked",
       &Config::smtpd_auth_failure_limit, nullptr},
      {"smtpd_auth_block_time", Kind::kDuration, "10m", 1, 7 * 86400, "smtpd",
       "how long failures are remembered, and how long a blocked address gets 421 4.7.0",
       &Config::smtpd_auth_block_time, nullptr},
      {"smtpd_sender_login_check", Kind::kBool, "yes", 0, 0, "smtpd",
       "an authenticated user may only send as their own address or an alias of it",
       &Config::smtpd_sender_login_check, nullptr},
      {"client_ipv6_prefix_length", Kind::kInt, "64", 32, 128, "smtpd pop3d",
       "an IPv6 client is its network of this many bits for every per-client limit",
       &Config::client_ipv6_prefix_length, nullptr},

      // sendmail (local submission)
      {"sendmail_domain", Kind::kString, "", 0, 0, "sendmail",
       "domain of local users' addresses in mail from sendmail (default: hostname)", &Config::sendmail_domain,
       check_domain_or_empty},

      // local (delivery into Maildirs) and recipient lookups
      {"quota_exceeded", Kind::kEnum, "defer", 0, 0, "local",
       "a message that does not fit the mailbox quota: defer (4.2.2, retried) or bounce (5.2.2)",
       &Config::quota_exceeded, nullptr, kQuotaExceeded},
      {"quota_warning_percent", Kind::kInt, "90", 0, 100, "local",
       "warn a user once by mail when a delivery takes the mailbox past this share of its quota (0: never)",
       &Config::quota_warning_percent, nullptr},
      {"recipient_delimiter", Kind::kString, "+", 0, 0, "local smtpd",
       "characters that separate a user from a tag: user+tag@domain reaches user@domain (empty: off)",
       &Config::recipient_delimiter, check_delimiter},

      // queue-manager
      {"queue_retry_min", Kind::kDuration, "5m", 1, 86400, "queue-manager",
       "first retry delay after a temporary failure; doubles with each attempt", &Config::queue_retry_min,
       nullptr},
      {"queue_retry_max", Kind::kDuration, "4h", 1, 7 * 86400, "queue-manager",
       "longest delay between two attempts", &Config::queue_retry_max, nullptr},
      {"queue_lifetime", Kind::kDuration, "5d", 1, 100 * 86400, "queue-manager",
       "how long a message may stay in the queue before it is returned to its sender",
       &Config::queue_lifetime, nullptr},
      {"delay_warning_time", Kind::kDuration, "0", 0, 100 * 86400, "queue-manager",
       "send the sender one warning when a message has been deferred this long (0: never)",
       &Config::delay_warning_time, nullptr},
      {"postmaster_address", Kind::kString, "", 0, 0, "queue-manager local remote",
       "where undeliverable bounces go, once (default: postmaster@ the hostname)",
       &Config::postmaster_address, nullptr},
      {"etrn_interval", Kind::kDuration, "1m", 1, 86400, "queue-manager",
       "ETRN starts a domain's mail at most once per interval; a client may send 30 ETRN per interval",
       &Config::etrn_interval, nullptr},

      // pop3d and POP-before-SMTP
      {"pop3_listen", Kind::kList, "0.0.0.0:110", 0, 0, "pop3d",
       "addresses for POP3 (RFC 1939) with STLS, host:port, comma separated", &Config::pop3_listen,
       check_listen},
      {"pop3s_listen", Kind::kList, "0.0.0.0:995", 0, 0, "pop3d",
       "addresses for POP3 over implicit TLS (RFC 8314); empty: none", &Config::pop3s_listen, check_listen},
      {"pop3_plaintext_auth", Kind::kBool, "no", 0, 0, "pop3d pop3-mailbox",
       "allow USER/PASS and AUTH without TLS (legacy clients only)", &Config::pop3_plaintext_auth, nullptr},
      {"pop3d_max_sessions", Kind::kInt, "1000", 1, 1000000, "pop3d pop3-mailbox",
       "concurrent POP3 sessions; more get -ERR [SYS/TEMP]", &Config::pop3d_max_sessions, nullptr},
      {"pop3d_timeout", Kind::kDuration, "10m", 600, 86400, "pop3d pop3-mailbox",
       "idle time allowed before an inactive POP3 session is closed (RFC 1939 3: >= 10m)",
       &Config::pop3d_timeout, nullptr},
      {"pop3d_max_sessions_per_client", Kind::kInt, "50", 1, 1000000, "pop3d",
       "concurrent POP3 sessions from one client; more get -ERR [SYS/TEMP]",
       &Config::pop3d_max_sessions_per_client, nullptr},
      {"pop3d_auth_failure_limit", Kind::kInt, "10", 1, 1000000, "pop3d mailbag-auth",
       "failed logins from one client within pop3d_auth_block_time before its logins are refused",
       &Config::pop3d_auth_failure_limit, nullptr},
      {"pop3d_auth_block_time", Kind::kDuration, "10m", 1, 7 * 86400, "pop3d mailbag-auth",
       "how long login failures are remembered, and how long a blocked client's logins are refused",
       &Config::pop3d_auth_block_time, nullptr},
      {"pop_before_smtp", Kind::kBool, "no", 0, 0, "smtpd pop3d mailbag-auth",
       "POP3 and IMAP logins let the client's address relay through smtpd for relay_lifetime",
       &Config::pop_before_smtp, nullptr},
      {"relay_lifetime", Kind::kDuration, "30m", 0, 366 * 86400, "smtpd pop3d relayctl",
       "how long after a POP3 or IMAP login its address may relay; relayctl expire's default",
       &Config::relay_lifetime, nullptr},

      // remote: outgoing SMTP, smarthost, ETRN client
      {"dns_resolver", Kind::kString, "", 0, 0, "remote mailctl checks",
       "DNS server to ask, ip[:port] (default: the servers in /etc/resolv.conf)", &Config::dns_resolver,
       check_resolver},
      {"relayhost", Kind::kString, "", 0, 0, "remote",
       "send all outgoing mail through this server: host[:port] (MX lookup) or [host][:port]",
       &Config::relayhost, check_next_hop},
      {"relayhost_auth_file", Kind::kString, "", 0, 0, "remote",
       "root-only file holding 'username password' for AUTH at the relayhost (forces verified TLS)",
       &Config::relayhost_auth_file, check_abs_or_empty},
      {"smtp_tls_policy", Kind::kEnum, "may", 0, 0, "remote",
       "TLS for outgoing SMTP: may (when offered), encrypt (required) or verify (+ certificate)",
       &Config::smtp_tls_policy, nullptr, kTlsPolicies},
      {"smtp_tls_ca_file", Kind::kString, "", 0, 0, "remote",
       "PEM CA certificates that verify outgoing TLS (empty: the system's CA store)",
       &Config::smtp_tls_ca_file, check_abs_or_empty},
      {"dns_trust_anchor", Kind::kString, "", 0, 0, "remote mailctl",
       "DS or DNSKEY records to validate DNSSEC from, e.g. /usr/share/dns/root.key (empty: no validation)",
       &Config::dns_trust_anchor, check_abs_or_empty},
      {"smtp_dane", Kind::kBool, "yes", 0, 0, "remote",
       "DANE (RFC 7672) for outgoing SMTP: TLSA records decide TLS; needs dns_trust_anchor",
       &Config::smtp_dane, nullptr},
      {"smtp_mta_sts", Kind::kBool, "yes", 0, 0, "remote",
       "MTA-STS (RFC 8461) for outgoing SMTP: fetch, cache and apply recipient domains' policies",
       &Config::smtp_mta_sts, nullptr},
      {"remote_destination_concurrency", Kind::kInt, "20", 1, 1000, "remote",
       "connections at once to one destination domain (or to the relayhost)",
       &Config::remote_destination_concurrency, nullptr},
      {"remote_timeout", Kind::kDuration, "5m", 1, 3600, "remote",
       "reply timeout of outgoing SMTP (RFC 5321 4.5.3.2); DATA, data and final dot scale with it",
       &Config::remote_timeout, nullptr},
      {"etrn_hosts", Kind::kList, "", 0, 0, "remote",
       "backup MX servers asked with ETRN (RFC 1985) to send our mail now, host[:port] each",
       &Config::etrn_hosts, check_next_hops},
      {"etrn_domains", Kind::kList, "", 0, 0, "remote", "domains named in those ETRN commands",
       &Config::etrn_domains, check_domains},
      {"wakeup_every", Kind::kDuration, "0", 0, 7 * 86400, "remote",
       "repeat the ETRN (or wake-up message) this often; 0: only when remote starts", &Config::wakeup_every,
       nullptr},
      {"wakeup_email", Kind::kString, "", 0, 0, "remote",
       "instead of ETRN, send a wake-up message to this address at the etrn_hosts", &Config::wakeup_email,
       check_mailbox_or_empty},
      {"wakeup_failure_notice", Kind::kInt, "3", 0, 1000, "remote",
       "after this many failed wake-ups in a row at one of etrn_hosts, mail the postmaster once, and once "
       "more when it works again (0: never)",
       &Config::wakeup_failure_notice, nullptr},

      // smtpd's built-in checks (the checks process, smtpd/checks/)
      {"dnsbl_zones", Kind::kList, "", 0, 0, "smtpd checks",
       "DNS blocklists asked once per connection on port 25: zone[=127.0.0.2..11][*weight], comma separated",
       &Config::dnsbl_zones, check_dns_lists},
      {"dnswl_zones", Kind::kList, "", 0, 0, "smtpd checks",
       "DNS allowlists (RFC 8904): the same syntax; a match subtracts its weight from the score",
       &Config::dnswl_zones, check_dns_lists},
      {"dnsbl_threshold", Kind::kInt, "1", 1, 1000, "checks",
       "a client whose blocklist weights minus allowlist weights reach this is refused",
       &Config::dnsbl_threshold, nullptr},
      {"spf_check", Kind::kBool, "no", 0, 0, "smtpd checks",
       "check SPF (RFC 7208) for MAIL FROM and HELO on port 25", &Config::spf_check, nullptr},
      {"spf_reject_fail", Kind::kBool, "no", 0, 0, "smtpd",
       "refuse MAIL when SPF says fail (550 5.7.23); otherwise only recorded", &Config::spf_reject_fail,
       nullptr},
      {"dkim_check", Kind::kBool, "no", 0, 0, "smtpd checks",
       "verify DKIM signatures (RFC 6376, RSA and Ed25519) of mail received on port 25", &Config::dkim_check,
       nullptr},
      {"dmarc_check", Kind::kBool, "no", 0, 0, "smtpd checks",
       "evaluate the From domain's DMARC policy (RFC 7489) on port 25 (needs SPF and DKIM results)",
       &Config::dmarc_check, nullptr},
      {"dmarc_reject", Kind::kBool, "yes", 0, 0, "smtpd",
       "apply a failing domain's p=reject: 550 5.7.1 after DATA", &Config::dmarc_reject, nullptr},
      {"dmarc_quarantine", Kind::kBool, "yes", 0, 0, "smtpd",
       "apply a failing domain's p=quarantine: deliver to the Junk folder", &Config::dmarc_quarantine,
       nullptr},
      {"checks_temperror", Kind::kEnum, "accept", 0, 0, "smtpd",
       "when a check cannot decide (DNS failure, checks process down): accept, or defer with 451",
       &Config::checks_temperror, nullptr, kTempErrorActions},
      {"authserv_id", Kind::kString, "", 0, 0, "smtpd",
       "the authserv-id of our Authentication-Results header (default: the hostname)", &Config::authserv_id,
       check_domain_or_empty},
      {"filter_timeout", Kind::kDuration, "10s", 1, 600, "smtpd",
       "how long smtpd waits for the checks process at connect and MAIL", &Config::filter_timeout, nullptr},
      {"filter_data_timeout", Kind::kDuration, "30s", 1, 600, "smtpd",
       "how long smtpd waits for the checks process after DATA", &Config::filter_data_timeout, nullptr},
      {"milters", Kind::kList, "", 0, 0, "smtpd",
       "mail filters (Sendmail milter protocol) for port 25: unix:/path or inet:addr:port[;option=value...]",
       &Config::milters, check_milters},
      {"submission_milters", Kind::kList, "", 0, 0, "smtpd",
       "mail filters for the submission ports (587, 465), written as for milters",
       &Config::submission_milters, check_milters},
      {"milter_default_action", Kind::kString, "tempfail", 0, 0, "smtpd",
       "when a filter is down, too slow or breaks the protocol: tempfail (451) or accept (go on without it)",
       &Config::milter_default_action, check_milter_action},
      {"milter_connect_timeout", Kind::kDuration, "30s", 1, 3600, "smtpd",
       "time allowed to connect to a filter", &Config::milter_connect_timeout, nullptr},
      {"milter_command_timeout", Kind::kDuration, "30s", 1, 3600, "smtpd",
       "time allowed for a filter's reply to one command", &Config::milter_command_timeout, nullptr},
      {"milter_content_timeout", Kind::kDuration, "5m", 1, 3600, "smtpd",
       "time allowed for a filter's whole work on one message (headers, body, end of message)",
       &Config::milter_content_timeout, nullptr},

      // mailbag-auth: the password checks of smtpd's AUTH and pop3d's logins
      {"auth_max_checks", Kind::kInt, "2", 1, 64, "mailbag-auth",
       "password checks at once (yescrypt: CPU-bound, ~16 MB each)", &Config::auth_max_checks, nullptr},
      {"auth_max_waiting", Kind::kInt, "256", 1, 100000, "mailbag-auth",
       "password checks that may wait for a free one; more fail temporarily at once",
       &Config::auth_max_waiting, nullptr},

      // mailbag-tlskey: the process that holds the TLS private key
      {"tls_key_daemon", Kind::kBool, "yes", 0, 0, "smtpd pop3d mailbag-tlskey",
       "yes: only mailbag-tlskey reads tls_key_file and signs for smtpd and pop3d; no: they read it at start",
       &Config::tls_key_daemon, nullptr},

      // remote: where mail goes when its own servers cannot take it now
      {"fallback_relay", Kind::kList, "", 0, 0, "remote",
       "servers, tried in order, for mail that cannot be delivered directly for a temporary reason: "
       "host[:port] (MX lookup) or [host][:port], comma separated",
       &Config::fallback_relay, check_next_hops},

      // backup MX: per relay domain
      {"relay_domain_settings", Kind::kList, "", 0, 0, "smtpd queue-manager",
       "per relay_domains domain: domain;lifetime=10d;max_queued=200M;release=CIDR+CIDR (who may ETRN it)",
       &Config::relay_domain_settings, check_relay_domain_settings},
      {"relay_wakeup_address", Kind::kString, "", 0, 0, "smtpd queue-manager",
       "mail to this address from a client that may release a relay domain releases it, then is discarded",
       &Config::relay_wakeup_address, check_mailbox_or_empty},
      {"relay_release_on_connect", Kind::kBool, "no", 0, 0, "smtpd",
       "an SMTP connection from a relay domain's release= networks releases that domain's queue",
       &Config::relay_release_on_connect, nullptr},

      // TLS reporting (RFC 8460)
      {"tls_report", Kind::kBool, "yes", 0, 0, "remote mailctl",
       "count outgoing TLS sessions per recipient domain and policy (RFC 8460); mailctl tlsrpt send mails "
       "the daily reports to domains that ask for them",
       &Config::tls_report, nullptr},
      {"tls_report_from", Kind::kString, "", 0, 0, "mailctl",
       "the sender and contact of the TLS reports (empty: postmaster@ the host name)",
       &Config::tls_report_from, check_mailbox_or_empty},
      // accounts on PostgreSQL: several nodes sharing one database (common/pg/)
      {"accounts_backend", Kind::kEnum, "lmdb", 0, 0, "*",
       "where accounts, aliases, password hashes and the relay database live: lmdb (data_directory) or "
       "postgresql",
       &Config::accounts_backend, nullptr, kAccountsBackends},
      {"postgresql_conninfo", Kind::kString, "", 0, 0, "*",
       "libpq connection string of the shared database, e.g. host=db1 dbname=mailbag sslmode=verify-full",
       &Config::postgresql_conninfo, nullptr},
      {"postgresql_password_file", Kind::kString, "", 0, 0, "*",
       "root-only file of 'ROLE PASSWORD' lines: the database password of each Mailbag role",
       &Config::postgresql_password_file, check_abs_or_empty},
      {"postgresql_cache_ttl", Kind::kDuration, "5s", 0, 3600, "*",
       "longest time a node serves a cached account answer when a change notification is lost (0: no cache)",
       &Config::postgresql_cache_ttl, nullptr},
      {"postgresql_timeout", Kind::kDuration, "5s", 1, 60, "*",
       "longest wait for the database (a connect, or a lookup from when it was asked): then a temporary "
       "failure",
       &Config::postgresql_timeout, nullptr},
  };
  return table;
}

}  // namespace common::config
