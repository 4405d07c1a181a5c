// Implementation of the remote agent's settings (see settings.hpp).
#include "delivery/remote/settings.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/mail/ascii.hpp"
#include "common/privsep/drop.hpp"

namespace delivery::remote {

using common::Result;
using common::Status;
using common::mail::lower;
using common::smtp::TlsPolicy;

namespace {

bool wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

Result<Credentials> read_credentials(const std::string& path) {
  common::io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Status::sys("relayhost_auth_file " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return Status::sys("fstat " + path);
  if (!S_ISREG(st.st_mode)) return Status::error("relayhost_auth_file " + path + " is not a regular file");
  // The password file must be as private as a key: root's, and nobody else's to read.
  if (common::privsep::running_as_root() && (st.st_uid != 0 || (st.st_mode & 077) != 0))
    return Status::error("relayhost_auth_file " + path + " must belong to root and have mode 0600 or 0400");
  auto text = common::io::read_file(path, 64 * 1024);
  if (!text) return text.status();
  auto c = parse_credentials(*text);
  if (!c) return Status::error("relayhost_auth_file " + path + ": " + c.message());
  return c;
}

}  // namespace

bool Self::is_self(const std::string& host, const std::string& ip, std::uint16_t port) const {
  for (const auto& n : names)
    if (!host.empty() && lower(host) == n) return true;
  for (const auto& [a, p] : endpoints)
    if (a == ip && p == port) return true;
  return false;
}

TlsPolicy Settings::policy_for_relay() const {
  if (relay_auth) return TlsPolicy::kVerify;
  return tls;
}

Result<Credentials> parse_credentials(std::string_view text) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t a = line.find_first_not_of(" \t");
    if (a == std::string_view::npos || line[a] == '#') continue;
    line = line.substr(a);
    std::size_t b = line.find_first_of(" \t");
    if (b == std::string_view::npos) return Status::error("expected 'username password'");
    std::string_view user = line.substr(0, b);
    std::string_view rest = line.substr(b);
    std::size_t c = rest.find_first_not_of(" \t");
    if (c == std::string_view::npos) return Status::error("expected 'username password'");
    rest = rest.substr(c);
    std::size_t e = rest.find_last_not_of(" \t");
    std::string_view password = rest.substr(0, e + 1);
    for (unsigned char ch : std::string(user) + std::string(password))
      if (ch < 0x20 || ch == 0x7f) return Status::error("control character in the credentials");
    if (password.find_first_of(" \t") != std::string_view::npos)
      return Status::error("expected 'username password' (no blanks in the password)");
    if (user.size() > 255 || password.size() > 255) return Status::error("username or password too long");
    return Credentials{std::string(user), std::string(password)};
  }
  return Status::error("no 'username password' line");
}

Result<Settings> make_settings(const common::config::Config& cfg, const std::vector<std::string>& ifaddrs,
                               bool credentials) {
  Settings s;
  s.helo_name = cfg.hostname;
  s.tls = cfg.smtp_tls_policy;
  if (!cfg.relayhost.empty()) {
    auto h = common::smtp::parse_next_hop(cfg.relayhost);
    if (!h) return Status::error("relayhost: " + h.message());
    s.relayhost = *h;
  }
  if (!cfg.relayhost_auth_file.empty() && credentials) {
    if (!s.relayhost) return Status::error("relayhost_auth_file is set, but relayhost is not");
    auto c = read_credentials(cfg.relayhost_auth_file);
    if (!c) return c.status();
    s.relay_auth = *c;
  }
  s.concurrency = static_cast<int>(cfg.remote_destination_concurrency);
  s.timeout = static_cast<int>(cfg.remote_timeout);
  s.dns_resolver = cfg.dns_resolver;
  s.trust_anchor = cfg.dns_trust_anchor;
  // RFC 7672 2.1: DANE rests on validated answers; without an anchor nothing validates.
  s.dane = cfg.smtp_dane && !s.trust_anchor.empty();
  s.mta_sts = cfg.smtp_mta_sts;
  s.sts_cache = cfg.spool_directory + "/mta-sts";
  s.tls_report = cfg.tls_report;
  s.tls_report_dir = cfg.spool_directory + "/tlsrpt";
  for (const auto& e : cfg.etrn_hosts) {
    auto h = common::smtp::parse_next_hop(e);
    if (!h) return Status::error("etrn_hosts: " + e + ": " + h.message());
    s.etrn_hosts.push_back(*h);
  }
  s.etrn_domains = cfg.etrn_domains;
  for (auto& d : s.etrn_domains) d = lower(d);
  s.wakeup_every = static_cast<int>(cfg.wakeup_every);
  s.wakeup_email = cfg.wakeup_email;
  s.wakeup_failure_notice = static_cast<int>(cfg.wakeup_failure_notice);
  s.postmaster = cfg.postmaster_address.empty() ? "postmaster@" + cfg.hostname : cfg.postmaster_address;
  if (!s.etrn_hosts.empty() && s.wakeup_email.empty() && s.etrn_domains.empty())
    return Status::error("etrn_hosts is set, but neither etrn_domains nor wakeup_email is");
  if (s.etrn_hosts.empty() && (!s.etrn_domains.empty() || !s.wakeup_email.empty() || s.wakeup_every > 0))
    return Status::error("etrn_domains, wakeup_email and wakeup_every need etrn_hosts");

  for (const auto& e : cfg.fallback_relay) {
    auto h = common::smtp::parse_next_hop(e);
    if (!h) return Status::error("fallback_relay: " + e + ": " + h.message());
    s.fallback_relays.push_back(*h);
  }

  s.self.names.push_back(lower(cfg.hostname));
  for (const auto& item : cfg.smtp_listen) {
    auto hp = common::config::parse_host_port(item);
    if (!hp) continue;
    std::string host = hp->host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (wildcard(host)) {
      for (const auto& a : ifaddrs) s.self.endpoints.emplace_back(a, hp->port);
    } else {
      s.self.endpoints.emplace_back(host, hp->port);
    }
  }
  return s;
}

void apply_reload(Settings* live, const Settings& fresh) {
  live->concurrency = fresh.concurrency;
  live->timeout = fresh.timeout;
  live->etrn_hosts = fresh.etrn_hosts;
  live->etrn_domains = fresh.etrn_domains;
  live->wakeup_every = fresh.wakeup_every;
  live->wakeup_email = fresh.wakeup_email;
  live->wakeup_failure_notice = fresh.wakeup_failure_notice;
  live->postmaster = fresh.postmaster;
  live->fallback_relays = fresh.fallback_relays;
  live->self = fresh.self;
}

std::vector<std::string> interface_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN];
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      if (inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf)) out.emplace_back(buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf)) out.emplace_back(buf);
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace delivery::remote
