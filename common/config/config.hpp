// mailbag.conf: one small "key = value" file read by every program. The keys are declared
// once, in the table in keys.cpp (name, type, default, range, owning programs, one-line
// description); parsing, validation with file:line, --dump-config and the test that
// every key is documented in mailbag.conf(5) all come from that table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/log/log.hpp"
#include "common/result.hpp"
#include "common/smtp/tls_policy.hpp"

namespace common::config {

inline constexpr const char* kDefaultPath = "/etc/mailbag/mailbag.conf";

// quota_exceeded: what local does with a message that does not fit a mailbox.
enum class QuotaExceeded : std::uint8_t { kDefer, kBounce };

// checks_temperror: what smtpd answers when a built-in check cannot decide (DNS
// timeout or SERVFAIL, the checks process down or slow).
enum class TempErrorAction : std::uint8_t { kAccept, kDefer };

// accounts_backend: where accounts, aliases, password hashes and the relay database live.
enum class AccountsBackend : std::uint8_t { kLmdb, kPostgresql };

// Every key has a member here. Durations are in seconds, sizes in bytes.
struct Config {
  std::string path;  // the file this came from ("" for defaults only)

  // General
  std::string hostname;
  log::Target log_target = log::Target::kSyslog;
  std::string spool_directory;
  std::string data_directory;
  std::string mail_directory;
  std::string tls_cert_file;
  std::string tls_key_file;

  // smtpd
  std::vector<std::string> smtp_listen;
  std::int64_t smtpd_max_sessions = 0;
  std::int64_t smtpd_timeout = 0;
  std::int64_t smtpd_data_timeout = 0;
  std::int64_t message_size_limit = 0;
  std::int64_t smtpd_max_recipients = 0;
  std::vector<std::string> submission_listen;
  std::vector<std::string> submissions_listen;
  std::vector<std::string> odmr_listen;  // RFC 2645 provider side (port 366); empty: off
  std::vector<std::string> relay_networks;
  bool relay_networks_allow_public = false;
  std::vector<std::string> relay_domains;
  std::vector<std::string> etrn_networks;
  std::int64_t smtpd_max_sessions_per_client = 0;
  std::int64_t smtpd_max_connect_rate = 0;
  std::int64_t smtpd_auth_failure_limit = 0;
  std::int64_t smtpd_auth_block_time = 0;
  bool smtpd_sender_login_check = false;
  std::int64_t client_ipv6_prefix_length = 0;  // smtpd and pop3d per-client limits

  // sendmail (local submission)
  std::string sendmail_domain;

  // local
  QuotaExceeded quota_exceeded = QuotaExceeded::kDefer;
  std::int64_t quota_warning_percent = 0;
  std::string recipient_delimiter;

  // queue-manager
  std::int64_t queue_retry_min = 0;
  std::int64_t queue_retry_max = 0;
  std::int64_t queue_lifetime = 0;
  std::int64_t delay_warning_time = 0;
  std::string postmaster_address;
  std::int64_t etrn_interval = 0;

  // pop3d and POP-before-SMTP (smtpd, relayctl)
  std::vector<std::string> pop3_listen;
  std::vector<std::string> pop3s_listen;
  bool pop3_plaintext_auth = false;
  std::int64_t pop3d_max_sessions = 0;
  std::int64_t pop3d_timeout = 0;
  std::int64_t pop3d_max_sessions_per_client = 0;
  std::int64_t pop3d_auth_failure_limit = 0;
  std::int64_t pop3d_auth_block_time = 0;
  bool pop_before_smtp = false;
  std::int64_t relay_lifetime = 0;

  // remote (outgoing SMTP, smarthost, ETRN client) and mailctl etrn
  std::string dns_resolver;
  std::string relayhost;
  std::string relayhost_auth_file;
  smtp::TlsPolicy smtp_tls_policy = smtp::TlsPolicy::kMay;
  std::string smtp_tls_ca_file;
  std::string dns_trust_anchor;
  bool smtp_dane = true;
  bool smtp_mta_sts = true;
  std::int64_t remote_destination_concurrency = 0;
  std::int64_t remote_timeout = 0;
  std::vector<std::string> etrn_hosts;
  std::vector<std::string> etrn_domains;
  std::int64_t wakeup_every = 0;
  std::string wakeup_email;
  std::int64_t wakeup_failure_notice = 0;

  // smtpd's built-in checks, run by the checks process
  std::vector<std::string> dnsbl_zones;
  std::vector<std::string> dnswl_zones;
  std::int64_t dnsbl_threshold = 0;
  bool spf_check = false;
  bool spf_reject_fail = false;
  bool dkim_check = false;
  bool dmarc_check = false;
  bool dmarc_reject = false;
  bool dmarc_quarantine = false;
  TempErrorAction checks_temperror = TempErrorAction::kAccept;
  std::string authserv_id;
  std::int64_t filter_timeout = 0;
  std::int64_t filter_data_timeout = 0;
  // smtpd: mail filters (milters)
  std::vector<std::string> milters;
  std::vector<std::string> submission_milters;
  std::string milter_default_action;
  std::int64_t milter_connect_timeout = 0;
  std::int64_t milter_command_timeout = 0;
  std::int64_t milter_content_timeout = 0;
  // mailbag-auth
  std::int64_t auth_max_checks = 0;
  std::int64_t auth_max_waiting = 0;
  // mailbag-tlskey
  bool tls_key_daemon = false;
  // remote: fallback relays
  std::vector<std::string> fallback_relay;
  // backup MX: per relay domain (common/config/relay_domain.hpp)
  std::vector<std::string> relay_domain_settings;
  std::string relay_wakeup_address;
  bool relay_release_on_connect = false;
  // TLS reporting (RFC 8460): remote records sessions, mailctl tlsrpt send mails reports
  bool tls_report = true;
  std::string tls_report_from;
  // accounts on PostgreSQL (common/pg/), shared by several nodes
  AccountsBackend accounts_backend = AccountsBackend::kLmdb;
  std::string postgresql_conninfo;
  std::string postgresql_password_file;
  std::int64_t postgresql_cache_ttl = 0;
  std::int64_t postgresql_timeout = 0;
};

// kEnum: one word out of KeyDef::choices, stored as the enum it names (parsed once here,
// so no program compares the text).
enum class Kind { kString, kPath, kBool, kInt, kSize, kDuration, kList, kEnum };

using Member =
    std::variant<std::string Config::*, bool Config::*, std::int64_t Config::*,
                 std::vector<std::string> Config::*, log::Target Config::*, QuotaExceeded Config::*,
                 smtp::TlsPolicy Config::*, TempErrorAction Config::*, AccountsBackend Config::*>;

// One allowed word of an enumerated key and the enum value it stands for.
struct Choice {
  std::string_view name;
  int value;
};

struct KeyDef {
  std::string_view name;
  Kind kind;
  std::string_view default_value;  // text, parsed like a value from the file
  std::int64_t min;                // for kInt/kSize/kDuration
  std::int64_t max;
  std::string_view owners;  // programs that read it, space separated
  std::string_view doc;     // one line for --help and the man page check
  Member member;
  // Extra check for one value (e.g. host:port syntax); nullptr if none.
  Status (*check)(std::string_view value);
  std::span<const Choice> choices = {};  // kEnum only
};

const std::vector<KeyDef>& keys();
const KeyDef* find_key(std::string_view name);

// Parses `text` as if read from `path`. Unknown keys, bad values and duplicates are
// errors of the form "path:line: message". Keys not in the text get their defaults.
Result<Config> parse(std::string_view text, const std::string& path);
// Reads and parses a file.
Result<Config> load(const std::string& path);
Config defaults();

// One "key = value" line per key owned by `program` (all keys if program is empty).
std::string dump(const Config& cfg, std::string_view program);

// A commented example mailbag.conf: every key with its description, owners and default,
// commented out (so the file sets nothing until edited). For `make install`.
std::string example();

// For daemons: handles -c FILE, --dump-config and --help; exits EX_CONFIG with the
// file:line message on any error, EX_USAGE on bad arguments (sysexits(3)).
Config load_or_exit(const char* program, int argc, char** argv);

// A key's value as the file would spell it (--dump-config's text).
std::string value_text(const Config& cfg, const KeyDef& k);
// Whether `program` reads key `k` (every program for an empty name).
bool owned_by(const KeyDef& k, std::string_view program);

// Value parsers, exposed for tests and for tools that take the same syntax.
// The word for an enumerated key's value (as --dump-config prints it); "" if none.
std::string_view choice_name(const KeyDef& k, int value);
Result<std::int64_t> parse_size(std::string_view v);
Result<std::int64_t> parse_duration(std::string_view v);
Result<bool> parse_bool(std::string_view v);
std::vector<std::string> split_list(std::string_view v);

// "host:port", "[v6]:port" or ":port"; used by listen keys.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
Result<HostPort> parse_host_port(std::string_view v);

}  // namespace common::config
