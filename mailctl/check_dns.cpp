// Implementation of `mailctl check-dns` (see check_dns.hpp): the lookups, one after the
// other, collected into a DomainCheck that dns_report.cpp judges. Answers are cached per
// query, so hosts sharing addresses cost nothing extra.
// UNTRUSTED: everything in the answers; names are decoded by ldns and checked.
#include "mailctl/check_dns.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "common/accounts/accounts.hpp"
#include "common/dkim/store.hpp"
#include "common/mail/address.hpp"
#include "common/pg/backend.hpp"
#include "delivery/remote/http_response.hpp"
#include "delivery/remote/mta_sts_policy.hpp"
#include "mailctl/args.hpp"
#include "mailctl/dns_lookup.hpp"
#include "mailctl/dns_report.hpp"
#include "mailctl/https_client.hpp"
#include "mailctl/tlsa.hpp"

namespace mailctl {

using common::dns::Lookup;

namespace {

class Checker {
 public:
  Checker(DnsClient& dns, DomainCheck& c, std::string ca_file)
      : dns_(dns), c_(c), ca_file_(std::move(ca_file)) {}
  void run();

 private:
  const DnsAnswer& ask(const std::string& name, int type) {
    auto key = std::make_pair(name, type);
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, dns_.query(name, type)).first;
    return it->second;
  }
  std::vector<std::string> addresses(const DnsAnswer& a, bool v6) {
    std::vector<std::string_view> raw(a.rdata.begin(), a.rdata.end());
    return common::dns::decode_addresses(raw, v6);
  }
  void mx();
  void host(HostCheck& h);
  void reverse(AddrCheck& a);
  void txt();
  void auth();
  void tlsa();
  void sts();

  DnsClient& dns_;
  DomainCheck& c_;
  std::string ca_file_;
  std::map<std::pair<std::string, int>, DnsAnswer> cache_;
};

void Checker::run() {
  mx();
  if (c_.mx_status == Lookup::kTempFail) return;  // the resolver is in trouble: stop here
  for (auto& h : c_.hosts) host(h);
  tlsa();
  txt();
  auth();
  sts();
}

// RFC 7672 2.2: TLSA records at _25._tcp.HOST of every usable MX host.
void Checker::tlsa() {
  for (const auto& h : c_.hosts) {
    if (!h.usable) continue;
    TlsaHostCheck t;
    t.host = h.name;
    t.ours = h.ours();
    const DnsAnswer& a = ask(common::dns::tlsa_owner(h.name, 25), kTypeTlsa);
    t.answer.status = a.status;
    t.answer.security = a.security;
    t.answer.error = a.error;
    if (a.status == Lookup::kOk) {
      std::vector<std::string_view> raw(a.rdata.begin(), a.rdata.end());
      common::dns::add_tlsa_rdatas(&t.answer, raw);
    }
    c_.tlsa.hosts.push_back(std::move(t));
  }
}

// The TXT texts at `name` that start with `prefix` (any prefix if "").
std::vector<std::string> txt_texts(const DnsAnswer& a, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& rd : a.rdata) {
    auto text = decode_txt(rd);
    if (text && (prefix.empty() || lower(text->substr(0, prefix.size())) == prefix)) out.push_back(*text);
  }
  return out;
}

// Each key's record, and the DMARC record (RFC 7489 6.6.3: "v=DMARC1" first).
void Checker::auth() {
  for (auto& k : c_.auth.dkim) {
    const DnsAnswer& a = ask(k.selector + "._domainkey." + c_.domain, kTypeTxt);
    k.status = a.status;
    k.error = a.error;
    k.found = txt_texts(a, "");
  }
  const DnsAnswer& d = ask("_dmarc." + c_.domain, kTypeTxt);
  c_.auth.dmarc_status = d.status;
  c_.auth.dmarc_error = d.error;
  for (auto& t : txt_texts(d, "v=dmarc1"))
    if (t.size() == 8 || t[8] == ';' || t[8] == ' ') c_.auth.dmarc.push_back(t);
}

// RFC 8461 3.1, 3.3: the _mta-sts record, and the policy fetched as a sender would
// (HTTPS, the certificate verified); RFC 8460 3: the _smtp._tls record.
void Checker::sts() {
  if (c_.role != DomainRole::kLocal && c_.role != DomainRole::kAlias) return;
  StsDnsCheck& s = c_.sts;
  const DnsAnswer& t = ask("_mta-sts." + c_.domain, kTypeTxt);
  s.txt_status = t.status;
  s.txt_error = t.error;
  s.txt = txt_texts(t, "");
  const DnsAnswer& r = ask("_smtp._tls." + c_.domain, kTypeTxt);
  s.rpt_status = r.status;
  s.rpt_error = r.error;
  s.rpt = txt_texts(r, "");
  if (!sts_announced(s)) return;
  s.fetched = true;
  std::string host = "mta-sts." + c_.domain;
  std::vector<std::string> ips;
  for (bool v6 : {false, true})
    for (const auto& ip : addresses(ask(host, v6 ? kTypeAaaa : kTypeA), v6)) ips.push_back(ip);
  auto raw = https_request(ips, host, 443, delivery::remote::sts_policy_request(host), ca_file_,
                           kCheckDnsTimeoutSeconds,
                           delivery::remote::kHttpMaxHeader + delivery::remote::kStsMaxPolicy);
  if (raw)
    s.response = std::move(*raw);
  else
    s.fetch_error = raw.message();
}

void Checker::mx() {
  const DnsAnswer& a = ask(c_.domain, kTypeMx);
  c_.mx_status = a.status;
  c_.mx_error = a.error;
  if (a.status == Lookup::kNoData) {
    c_.implicit_mx = true;
    HostCheck h;
    h.name = c_.domain;
    c_.hosts.push_back(h);
    return;
  }
  for (const auto& rd : a.rdata) {
    auto mx = common::dns::decode_mx(reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size());
    HostCheck h;
    if (!mx) {
      h.name = "(undecodable record)";
      h.usable = false;
    } else if (mx->host.empty()) {
      c_.null_mx = true;
      continue;
    } else {
      h.name = mx->host;
      h.preference = mx->preference;
      h.usable = common::dns::is_host_name(h.name);
    }
    c_.hosts.push_back(h);
  }
  std::sort(c_.hosts.begin(), c_.hosts.end(), [](const HostCheck& x, const HostCheck& y) {
    return x.preference != y.preference ? x.preference < y.preference : x.name < y.name;
  });
}

void Checker::host(HostCheck& h) {
  h.name_is_ours = !c_.implicit_mx && h.name == c_.hostname;
  if (!h.usable) return;
  const DnsAnswer& a4 = ask(h.name, kTypeA);
  const DnsAnswer& a6 = ask(h.name, kTypeAaaa);
  h.a_status = a4.status;
  h.aaaa_status = a6.status;
  h.error = !a4.error.empty() ? a4.error : a6.error;
  h.cname = !a4.canonname.empty() ? a4.canonname : a6.canonname;
  for (bool v6 : {false, true}) {
    for (const auto& ip : addresses(v6 ? a6 : a4, v6)) {
      AddrCheck ac;
      ac.ip = canonical_ip(ip);
      ac.ours = std::find(c_.our_addrs.begin(), c_.our_addrs.end(), ac.ip) != c_.our_addrs.end();
      reverse(ac);
      h.addrs.push_back(std::move(ac));
    }
  }
}

// PTR of the address, then each PTR name forward again (forward-confirmed reverse DNS).
void Checker::reverse(AddrCheck& a) {
  const DnsAnswer& p = ask(reverse_name(a.ip), kTypePtr);
  a.ptr_status = p.status;
  a.ptr_error = p.error;
  bool v6 = is_ipv6(a.ip);
  for (const auto& rd : p.rdata) {
    auto name = decode_name(rd);
    if (!name || !common::dns::is_host_name(*name)) continue;
    a.ptr_names.push_back(*name);
    const DnsAnswer& f = ask(*name, v6 ? kTypeAaaa : kTypeA);
    if (f.status == Lookup::kTempFail) a.forward_tempfail = true;
    for (const auto& ip : addresses(f, v6))
      if (canonical_ip(ip) == a.ip) a.confirmed.push_back(*name);
  }
}

void Checker::txt() {
  const DnsAnswer& t = ask(c_.domain, kTypeTxt);
  c_.txt_status = t.status;
  c_.txt_error = t.error;
  for (const auto& rd : t.rdata) {
    auto text = decode_txt(rd);
    if (!text) continue;
    // RFC 7208 4.5: exactly "v=spf1", then a space or the end (case-insensitive).
    std::string head = lower(text->substr(0, 7));
    if (head == "v=spf1" || head == "v=spf1 ") c_.spf.push_back(*text);
  }
}

void add_unique(std::vector<std::string>* v, const std::string& ip) {
  if (!ip.empty() && std::find(v->begin(), v->end(), ip) == v->end()) v->push_back(ip);
}

// Where the domain stands in this server's configuration.
void find_role(Context& ctx, DomainCheck& c) {
  std::string path = ctx.layout().accounts_db();
  struct stat st;
  if (!common::pg::enabled(ctx.cfg) && ::stat(path.c_str(), &st) != 0) {
    c.role_note = path + " does not exist";
  } else if (auto db = common::pg::open_accounts(ctx.cfg, false); !db) {
    c.role_note = "cannot read accounts.mdb: " + db.message();
  } else if (auto d = (*db)->domain(c.domain); !d) {
    c.role_note = "cannot read accounts.mdb: " + d.message();
  } else if (*d) {
    c.role = (*d)->alias_of.empty() ? DomainRole::kLocal : DomainRole::kAlias;
    c.role_note = (*d)->alias_of;
    return;
  }
  for (const auto& r : ctx.cfg.relay_domains)
    if (lower(r) == c.domain) c.role = DomainRole::kBackup;
}

// The domain's DKIM keys from the key store: `keys` and the public records, both
// readable by anyone (the private keys are not read).
void find_keys(Context& ctx, DomainCheck& c) {
  std::string dir = ctx.layout().dkim_keys();
  auto keys = common::dkim::load_keys(dir);
  if (!keys) {
    c.auth.dkim_note = keys.message();
    return;
  }
  for (const auto& e : *keys) {
    if (e.domain != c.domain) continue;
    auto record = common::dkim::read_record_file(dir, e);
    if (!record) {
      c.auth.dkim_note = record.message();
      continue;
    }
    DkimKeyCheck k;
    k.selector = e.selector;
    k.active = e.state == common::dkim::KeyState::kActive;
    k.record = *record;
    c.auth.dkim.push_back(std::move(k));
  }
}

}  // namespace

std::vector<std::string> own_addresses(const common::config::Config& cfg) {
  std::vector<std::string> out;
  for (const auto& l : cfg.smtp_listen) {
    auto hp = common::config::parse_host_port(l);
    if (!hp) continue;
    std::string ip = canonical_ip(hp->host);
    if (ip != "0.0.0.0" && ip != "::") add_unique(&out, ip);
  }
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) == 0) {
    for (ifaddrs* i = ifs; i; i = i->ifa_next) {
      if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
      char buf[INET6_ADDRSTRLEN];
      const void* a =
          i->ifa_addr->sa_family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr);
      if (inet_ntop(i->ifa_addr->sa_family, a, buf, sizeof buf)) add_unique(&out, buf);
    }
    ::freeifaddrs(ifs);
  }
  return out;
}

int cmd_check_dns(Context& ctx, const std::string& arg) {
  std::string domain = domain_arg(arg);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!common::mail::is_domain(domain, false) || !common::dns::is_host_name(domain)) {
    complain(ctx, "check-dns: not a domain name: " + arg);
    return EX_USAGE;
  }
  DomainCheck c;
  c.domain = domain;
  c.hostname = lower(ctx.cfg.hostname);
  c.our_addrs = own_addresses(ctx.cfg);
  find_role(ctx, c);
  find_keys(ctx, c);
  c.tlsa.validating = !ctx.cfg.dns_trust_anchor.empty();
  if (ctx.cfg.tls_cert_file.empty()) {
    c.tlsa.own_note = "tls_cert_file is not set";
  } else if (auto d = cert_spki_sha256(ctx.cfg.tls_cert_file); d) {
    c.tlsa.own_spki_sha256 = *d;
  } else {
    c.tlsa.own_note = d.message();
  }
  auto dns = DnsClient::create(ctx.cfg.dns_resolver, kCheckDnsTimeoutSeconds, ctx.cfg.dns_trust_anchor);
  if (!dns) {
    complain(ctx, "check-dns: no resolver: " + dns.message());
    return EX_UNAVAILABLE;
  }
  char id[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(id, sizeof id, "%Y%m%d%H%M%S", &tm);
  c.sts.new_id = id;
  Checker(**dns, c, ctx.cfg.smtp_tls_ca_file).run();
  DnsReport r = evaluate(c);
  std::fputs(r.render().c_str(), ctx.out);
  return r.exit_code;
}

}  // namespace mailctl
