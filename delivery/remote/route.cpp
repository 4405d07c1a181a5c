// Implementation of route resolution (see route.hpp).
#include "delivery/remote/route.hpp"

#include <arpa/inet.h>

#include <set>

#include "common/dns/resolver.hpp"
#include "common/mail/idna.hpp"

namespace delivery::remote {

using common::dns::Lookup;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

Verdict temporary(std::string status, std::string text) {
  return Verdict{Outcome::kTemporary, std::move(status), std::move(text)};
}
Verdict permanent(std::string status, std::string text) {
  return Verdict{Outcome::kPermanent, std::move(status), std::move(text)};
}

bool is_ip(const std::string& s, bool* v6 = nullptr) {
  unsigned char b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) {
    if (v6) *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
    if (v6) *v6 = true;
    return true;
  }
  return false;
}

std::string what(const Target& t) { return t.relay ? "relay host " + t.name : t.name; }

}  // namespace

std::string Endpoint::str() const {
  if (host.empty()) return "[" + ip + "]:" + std::to_string(port);
  return host + "[" + ip + "]:" + std::to_string(port);
}

Target target_for_domain(const std::string& domain) {
  Target t;
  t.name = domain;
  // RFC 5321 4.1.3 address literals: deliver to the address itself.
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string inner = domain.substr(1, domain.size() - 2);
    if (inner.size() > 5 && (inner.compare(0, 5, "IPv6:") == 0 || inner.compare(0, 5, "ipv6:") == 0))
      inner = inner.substr(5);
    t.name = inner;
    t.mx_lookup = false;
    t.is_ip = is_ip(inner);
  }
  return t;
}

Target target_for_hop(const common::smtp::NextHop& hop) {
  Target t;
  t.name = hop.host;
  t.port = hop.port;
  t.mx_lookup = hop.mx_lookup;
  t.is_ip = hop.is_ip;
  t.relay = true;
  return t;
}

MxPlan plan_from_mx(const Target& t, const common::dns::MxAnswer& mx) {
  MxPlan p;
  switch (mx.status) {
    case Lookup::kOk:
      if (mx.null_mx) {
        // RFC 7505 4.1: "556 5.1.10"; the domain has said it takes no mail.
        p.failure =
            permanent("5.1.10", "Recipient address has null MX: " + t.name + " accepts no mail (RFC 7505)");
        return p;
      }
      p.hosts = mx.hosts;
      if (p.hosts.size() > kMaxMxHosts) p.hosts.resize(kMaxMxHosts);
      return p;
    case Lookup::kNoData:
      if (!mx.error.empty()) {  // MX records, but none usable
        p.failure = permanent("5.4.4", "no usable MX host for " + what(t) + ": " + mx.error);
        return p;
      }
      p.hosts.push_back(common::dns::MxHost{0, t.name});  // RFC 5321 5.1 implicit MX
      return p;
    case Lookup::kNxDomain:
      p.failure =
          permanent("5.1.2", "Host or domain name not found: " + what(t) + " does not exist (DNS NXDOMAIN)");
      return p;
    case Lookup::kTempFail:
      p.failure = temporary("4.4.3", "Host or domain name lookup failed for " + what(t) + ": " +
                                         (mx.error.empty() ? "temporary DNS failure" : mx.error));
      return p;
  }
  return p;
}

Route route_from_hosts(const Target& t, const std::vector<HostAddresses>& hosts, const Self& self) {
  Route r;
  // RFC 5321 5.1: find our own preference; only strictly better hosts remain.
  bool found_self = false;
  int self_pref = 0;
  for (const auto& h : hosts) {
    bool me = self.is_self(h.mx.host, "", 0);
    for (const auto* list : {&h.v4.addrs, &h.v6.addrs})
      for (const auto& ip : *list)
        if (self.is_self("", ip, t.port)) me = true;
    if (me && (!found_self || h.mx.preference < self_pref)) {
      found_self = true;
      self_pref = h.mx.preference;
    }
  }
  r.self_mx = found_self;
  bool temp = false;
  std::string lookup_error;
  std::set<std::string> seen;
  for (const auto& h : hosts) {
    if (found_self && h.mx.preference >= self_pref) continue;
    if (h.v4.status == Lookup::kTempFail || h.v6.status == Lookup::kTempFail) {
      temp = true;
      lookup_error = !h.v4.error.empty() ? h.v4.error : h.v6.error;
    }
    DaneState dane =
        decide_dane(t.dane, h.mx_security, address_security(h.v4, h.v6), h.tlsa ? &*h.tlsa : nullptr);
    for (const auto* list : {&h.v4.addrs, &h.v6.addrs})
      for (const auto& ip : *list) {
        if (r.endpoints.size() >= kMaxEndpoints || !seen.insert(ip).second) continue;
        r.endpoints.push_back(Endpoint{h.mx.host, ip, t.port, dane});
      }
  }
  if (!r.endpoints.empty()) return r;
  if (found_self) {
    // Temporary, not a bounce: this is a configuration error (ours or the domain's) that
    // an administrator can fix before the message expires.
    r.failure = temporary("4.4.6", "mail for " + what(t) + " loops back to myself");
    return r;
  }
  if (temp) {
    r.failure = temporary("4.4.3", "Host or domain name lookup failed for the mail servers of " + what(t) +
                                       ": " + lookup_error);
    return r;
  }
  r.failure =
      permanent("5.4.4", "Host or domain name not found: no address for the mail servers of " + what(t));
  return r;
}

RouteLookup::RouteLookup(common::dns::Resolver& resolver, const Self& self, Target t, Callback cb)
    : resolver_(resolver), self_(self), target_(std::move(t)), cb_(std::move(cb)) {}

RouteLookup::~RouteLookup() { life_.end(); }

void RouteLookup::start() {
  if (target_.is_ip) {
    HostAddresses h;
    h.mx.host = "";
    bool v6 = false;
    is_ip(target_.name, &v6);
    (v6 ? h.v6 : h.v4).addrs.push_back(target_.name);
    hosts_.push_back(std::move(h));
    // Answer from the loop, like every other route.
    outstanding_ = 1;
    common::io::Guard alive = life_.guard();
    common::io::run_soon(resolver_.base(), [this, alive] {
      if (alive) host_done();
    });
    return;
  }
  // RFC 5891 5: a UTF-8 domain is looked up by its A-labels; one that has none cannot
  // exist in the DNS (5.1.2, as for NXDOMAIN).
  auto ascii = common::mail::domain_to_ascii(target_.name);
  if (!ascii.is_ok()) {
    common::io::Guard alive = life_.guard();
    Verdict v = permanent("5.1.2", "Bad destination domain: " + ascii.message());
    common::io::run_soon(resolver_.base(), [this, alive, v] {
      if (alive) fail(v);
    });
    return;
  }
  target_.name = std::move(*ascii);
  if (!target_.mx_lookup) {
    resolve_hosts({common::dns::MxHost{0, target_.name}});
    return;
  }
  common::io::Guard alive = life_.guard();
  resolver_.lookup_mx(target_.name, [this, alive](common::dns::MxAnswer a) {
    if (alive) on_mx(a);
  });
}

void RouteLookup::on_mx(const common::dns::MxAnswer& a) {
  mx_security_ = a.security;
  MxPlan p = plan_from_mx(target_, a);
  if (!p.ok()) {
    fail(p.failure);
    return;
  }
  resolve_hosts(std::move(p.hosts));
}

void RouteLookup::resolve_hosts(std::vector<common::dns::MxHost> hosts) {
  hosts_.clear();
  for (auto& m : hosts) {
    HostAddresses h;
    h.mx = std::move(m);
    h.mx_security = mx_security_;
    hosts_.push_back(std::move(h));
  }
  outstanding_ = hosts_.size() * 2;
  common::io::Guard alive = life_.guard();
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    for (bool v6 : {false, true}) {
      resolver_.lookup_addr(hosts_[i].mx.host, v6, [this, alive, i, v6](common::dns::AddrAnswer a) {
        if (!alive) return;
        (v6 ? hosts_[i].v6 : hosts_[i].v4) = std::move(a);
        host_done();
      });
    }
  }
}

void RouteLookup::host_done() {
  if (--outstanding_ > 0) return;
  lookup_tlsa();
}

// RFC 7672 2.2.2: TLSA records at _port._tcp.<host> for every host whose MX and address
// answers are secure; the rest need no lookup.
void RouteLookup::lookup_tlsa() {
  std::vector<std::size_t> want;
  for (std::size_t i = 0; i < hosts_.size(); ++i)
    if (!hosts_[i].mx.host.empty() &&
        wants_tlsa(target_.dane, hosts_[i].mx_security, address_security(hosts_[i].v4, hosts_[i].v6)))
      want.push_back(i);
  if (want.empty()) {
    finish(route_from_hosts(target_, hosts_, self_));
    return;
  }
  outstanding_ = want.size();
  common::io::Guard alive = life_.guard();
  for (std::size_t i : want) {
    resolver_.lookup_tlsa(common::dns::tlsa_owner(hosts_[i].mx.host, target_.port),
                          [this, alive, i](common::dns::TlsaAnswer a) {
                            if (!alive) return;
                            hosts_[i].tlsa = std::move(a);
                            tlsa_done();
                          });
  }
}

void RouteLookup::tlsa_done() {
  if (--outstanding_ > 0) return;
  finish(route_from_hosts(target_, hosts_, self_));
}

void RouteLookup::fail(common::mail::Verdict v) {
  Route r;
  r.failure = std::move(v);
  finish(std::move(r));
}

void RouteLookup::finish(Route r) {
  auto cb = std::move(cb_);
  cb(std::move(r));  // may destroy us: nothing after this
}

}  // namespace delivery::remote
