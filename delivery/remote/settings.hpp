// What the remote agent takes from mailbag.conf, checked and in usable form: TLS policy,
// relayhost and its credentials, timeouts, limits, the ETRN client's hosts and domains,
// and who "we" are (host name, listening addresses) for loop detection. Built once in
// pre_jail (the credentials file is read there, as root).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.hpp"
#include "common/result.hpp"
#include "common/smtp/client.hpp"
#include "common/smtp/next_hop.hpp"

namespace delivery::remote {

struct Credentials {
  std::string user;
  std::string password;
};

// Our own SMTP service, so that we never send mail to ourselves (RFC 5321 5.1).
struct Self {
  std::vector<std::string> names;                                // lower case
  std::vector<std::pair<std::string, std::uint16_t>> endpoints;  // ip, port we listen on
  bool is_self(const std::string& host, const std::string& ip, std::uint16_t port) const;
};

struct Settings {
  std::string helo_name;
  common::smtp::TlsPolicy tls = common::smtp::TlsPolicy::kMay;
  std::optional<common::smtp::NextHop> relayhost;
  std::optional<Credentials> relay_auth;
  int concurrency = 20;
  int timeout = 300;  // remote_timeout, seconds
  std::string dns_resolver;
  std::string trust_anchor;    // dns_trust_anchor: "" means no DNSSEC validation
  bool dane = false;           // smtp_dane, and a trust anchor to make it possible
  bool mta_sts = true;         // smtp_mta_sts
  std::string sts_cache;       // spool/mta-sts: the cached MTA-STS policies
  bool tls_report = true;      // tls_report: TLS sessions recorded (RFC 8460)
  std::string tls_report_dir;  // spool/tlsrpt: the day files of TLS sessions
  std::vector<common::smtp::NextHop> etrn_hosts;
  std::vector<std::string> etrn_domains;
  int wakeup_every = 0;
  std::string wakeup_email;
  int wakeup_failure_notice = 3;  // failed wake-ups in a row before the postmaster's notice
  std::string postmaster;         // postmaster_address, else postmaster@ the host name
  std::vector<common::smtp::NextHop> fallback_relays;  // fallback_relay, in order
  Self self;

  // Connection limits (Postfix-like; not configurable).
  static constexpr int kIdleSeconds = 5;  // keep an idle connection this long
  static constexpr int kMaxMessagesPerConnection = 100;
  static constexpr int kConnectTimeout = 30;
  // The whole MTA-STS policy fetch (RFC 8461 3.3 leaves it to the sender): bounded by
  // remote_timeout, at most a minute.
  static constexpr int kStsFetchTimeout = 60;
  int sts_fetch_timeout() const { return timeout < kStsFetchTimeout ? timeout : kStsFetchTimeout; }
  int connect_timeout() const { return timeout < kConnectTimeout ? timeout : kConnectTimeout; }
  // TLS policy for one destination: the relayhost with credentials always verifies its
  // certificate (chain and the relayhost's configured name), whatever smtp_tls_policy
  // says: a password must never go to a host that DNS or the network chose.
  common::smtp::TlsPolicy policy_for_relay() const;
  // The name a relayhost's certificate must carry: the host of `relayhost` as configured.
  std::string relay_tls_name() const { return relayhost ? relayhost->host : std::string(); }
};

// "username password" on the first non-empty, non-comment line (blanks around and
// between; the password may not contain blanks or control characters).
common::Result<Credentials> parse_credentials(std::string_view text);

// Reads the config (and the credentials file, which must be a regular file not readable
// by group or others, when started as root). `listen_addrs` are the addresses of this
// host to use for wildcard smtp_listen entries (from getifaddrs; passed in for tests).
// `credentials` false (a reload, after the privilege drop): the file is not read.
common::Result<Settings> make_settings(const common::config::Config& cfg,
                                       const std::vector<std::string>& interface_addrs,
                                       bool credentials = true);

// A reload: copies from `fresh` into the running settings what may change without a
// restart (limits, timeouts, ETRN and wake-up, fallback relays, our own addresses); TLS,
// DNS, the relayhost and its credentials stay as they were at start.
void apply_reload(Settings* live, const Settings& fresh);

// Every address of every local interface (getifaddrs), textual.
std::vector<std::string> interface_addresses();

}  // namespace delivery::remote
