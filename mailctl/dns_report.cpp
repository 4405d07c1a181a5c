// Implementation of check-dns's report (see dns_report.hpp). Every name and text here
// came from the DNS; they pass through terminal_safe() before they are shown.
#include "mailctl/dns_report.hpp"

#include <sysexits.h>

#include <algorithm>
#include <set>

#include "mailctl/args.hpp"
#include "mailctl/queue_format.hpp"

namespace mailctl {

using common::dns::Lookup;

namespace {

class Builder {
 public:
  explicit Builder(const DomainCheck& c) : c_(c) {}
  DnsReport run();

 private:
  void line(const std::string& key, const std::string& value) {
    std::string k = key;
    if (k.size() < 12) k.resize(12, ' ');
    r_.text += k + " " + value + "\n";
  }
  void problem(const std::string& p) { r_.problems.push_back(p); }
  void failure(const std::string& f) { r_.failures.push_back(f); }
  void mx_records();
  void host(const HostCheck& h);
  void address(const HostCheck& h, const AddrCheck& a);
  void our_role();
  void spf();
  void auth() {
    AuthReport a = evaluate_auth(c_.domain, c_.auth);
    for (const auto& [k, v] : a.lines) line(k, v);
    r_.problems.insert(r_.problems.end(), a.problems.begin(), a.problems.end());
    r_.failures.insert(r_.failures.end(), a.failures.begin(), a.failures.end());
  }
  void sts() {
    std::vector<std::string> mx;
    for (const auto& h : c_.hosts)
      if (h.usable) mx.push_back(h.name);
    StsReport s = evaluate_sts(c_.domain, c_.sts, mx);
    for (const auto& [k, v] : s.lines) line(k, v);
    r_.problems.insert(r_.problems.end(), s.problems.begin(), s.problems.end());
    r_.failures.insert(r_.failures.end(), s.failures.begin(), s.failures.end());
  }
  void tlsa() {
    TlsaReport t = evaluate_tlsa(c_.tlsa, c_.role == DomainRole::kLocal || c_.role == DomainRole::kAlias);
    for (const auto& [k, v] : t.lines) line(k, v);
    r_.problems.insert(r_.problems.end(), t.problems.begin(), t.problems.end());
    r_.failures.insert(r_.failures.end(), t.failures.begin(), t.failures.end());
  }

  const DomainCheck& c_;
  DnsReport r_;
  std::set<std::string> judged_;  // addresses whose reverse DNS was judged (MX hosts may share)
};

std::string safe(const std::string& s) { return terminal_safe(s); }

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + safe(s);
  return out;
}

bool missing(Lookup s) { return s == Lookup::kNoData || s == Lookup::kNxDomain; }

}  // namespace

bool HostCheck::ours() const {
  if (name_is_ours) return true;
  for (const auto& a : addrs)
    if (a.ours) return true;
  return false;
}

DnsReport Builder::run() {
  const std::string d = safe(c_.domain);
  std::string role =
      c_.role == DomainRole::kLocal   ? "a local domain of this server"
      : c_.role == DomainRole::kAlias ? "a local domain of this server (alias of " + safe(c_.role_note) + ")"
      : c_.role == DomainRole::kBackup
          ? "in relay_domains: this server is a backup MX for it"
          : "not a domain of this server" + (c_.role_note.empty() ? "" : " (" + safe(c_.role_note) + ")");
  line("domain", d + ": " + role);
  line("this server",
       safe(c_.hostname) + (c_.our_addrs.empty() ? "" : " [" + join(c_.our_addrs, ", ") + "]"));
  if (c_.mx_status == Lookup::kNxDomain) {
    problem(d + " does not exist in the DNS (NXDOMAIN)");
  } else if (c_.mx_status == Lookup::kTempFail) {
    failure("MX of " + d + ": " + safe(c_.mx_error));
  } else {
    mx_records();
    for (const auto& h : c_.hosts) host(h);
    our_role();
    tlsa();
    spf();
    // Signing keys and the DMARC record are this server's business only for its own domains.
    if (c_.role == DomainRole::kLocal || c_.role == DomainRole::kAlias) auth();
    // So are the MTA-STS policy and the TLS reporting address it publishes for senders.
    if (c_.role == DomainRole::kLocal || c_.role == DomainRole::kAlias) sts();
  }
  if (!r_.failures.empty())
    r_.exit_code = EX_TEMPFAIL;
  else if (!r_.problems.empty())
    r_.exit_code = kExitProblems;
  return std::move(r_);
}

void Builder::mx_records() {
  const std::string d = safe(c_.domain);
  if (c_.null_mx && c_.hosts.empty()) {
    line("MX", "0 . (null MX: this domain accepts no mail, RFC 7505)");
    if (c_.role != DomainRole::kUnknown)
      problem(d + " has a null MX (RFC 7505), so no one can send it mail, but it is a domain of this server");
    return;
  }
  if (c_.implicit_mx) {
    line("MX", "none: mail goes to the domain's A/AAAA (RFC 5321 5.1)");
    return;
  }
  bool first = true;
  for (const auto& h : c_.hosts) {
    line(first ? "MX" : "", std::to_string(h.preference) + " " + safe(h.name));
    first = false;
  }
  if (c_.null_mx) {
    line("", "0 . (null MX)");
    problem(d + " has a null MX (RFC 7505) among other MX records: a null MX must stand alone (RFC 7505 3)");
  }
}

void Builder::host(const HostCheck& h) {
  const std::string n = safe(h.name);
  std::string what =
      c_.implicit_mx ? "(the domain itself, implicit MX)" : "(MX " + std::to_string(h.preference);
  if (!c_.implicit_mx) what += h.name_is_ours ? ", this server's hostname)" : ")";
  line("host", n + " " + what);
  if (!h.usable) {
    problem("MX " + n + " is not a usable host name (RFC 1123 2.1)");
    return;
  }
  if (!h.cname.empty()) {
    line("  alias of", safe(h.cname));
    problem("MX " + n + " is an alias (CNAME) of " + safe(h.cname) +
            ": an MX must name the host itself (RFC 2181 10.3, RFC 5321 5.1)");
  }
  if (h.a_status == Lookup::kTempFail || h.aaaa_status == Lookup::kTempFail)
    failure("addresses of " + n + ": " + safe(h.error));
  if (h.addrs.empty()) {
    line("  address", "none");
    bool gone = h.a_status == Lookup::kNxDomain || h.aaaa_status == Lookup::kNxDomain;
    if (missing(h.a_status) && missing(h.aaaa_status)) {
      if (c_.implicit_mx)
        problem(safe(c_.domain) + " has neither MX nor A/AAAA records: it cannot receive mail");
      else
        problem("MX " + n + (gone ? " does not exist (NXDOMAIN)" : " has no A or AAAA record"));
    }
  }
  for (const auto& a : h.addrs) address(h, a);
}

void Builder::address(const HostCheck& h, const AddrCheck& a) {
  const std::string ip = safe(a.ip);
  const std::string who = ip + " (" + safe(h.name) + ")";
  line("  address", ip + (a.ours ? " (this server)" : ""));
  bool first = judged_.insert(a.ip).second;
  if (a.ptr_status == Lookup::kTempFail) {
    line("  PTR", "lookup failed");
    if (first) failure("PTR of " + ip + ": " + safe(a.ptr_error));
    return;
  }
  if (a.ptr_names.empty()) {
    line("  PTR", "none");
    if (first) problem(who + " has no PTR record (reverse DNS); many receivers distrust such servers");
    return;
  }
  for (const auto& name : a.ptr_names) {
    bool ok = false;
    for (const auto& cn : a.confirmed) ok = ok || cn == name;
    line("  PTR", safe(name) + (ok ? " (resolves back to " + ip + ": forward-confirmed)"
                                   : " (does not resolve back to " + ip + ")"));
  }
  if (!first) return;
  if (a.forward_tempfail)
    failure("addresses of the PTR names of " + ip);
  else if (a.confirmed.empty())
    problem(who + ": the PTR name " + safe(a.ptr_names.front()) + " does not resolve back to " + ip +
            " (no forward-confirmed reverse DNS)");
}

void Builder::our_role() {
  const std::string d = safe(c_.domain);
  if (c_.null_mx && c_.hosts.empty()) return;
  const HostCheck* best = nullptr;  // ours among the lowest preference
  const HostCheck* mine = nullptr;  // ours at any preference
  for (const auto& h : c_.hosts) {
    if (!h.ours()) continue;
    if (!mine) mine = &h;
    if (h.preference == c_.hosts.front().preference && !best) best = &h;
  }
  if (best) {
    line("this server", c_.implicit_mx ? "receives the domain's mail (implicit MX)"
                                       : "is the best MX (" + safe(best->name) + ")");
  } else if (mine) {
    line("this server",
         "is a backup MX (" + safe(mine->name) + ", preference " + std::to_string(mine->preference) + ")");
  } else {
    line("this server", "is not an MX of " + d);
  }
  switch (c_.role) {
    case DomainRole::kLocal:
    case DomainRole::kAlias:
      if (!mine)
        problem("no MX of " + d +
                " points at this server (by hostname or address): its mail will not arrive here");
      break;
    case DomainRole::kBackup:
      if (!mine)
        problem(d +
                " is in relay_domains, but no MX of it names this server: it will not get the domain's "
                "mail to keep");
      else if (best)
        problem("this server is the best MX of " + d +
                ", but only its backup (relay_domains): mail for it would have nowhere to go");
      break;
    case DomainRole::kUnknown:
      if (mine)
        problem("an MX of " + d + " points at this server, but " + d +
                " is neither a local domain nor in relay_domains: its mail is refused here");
      break;
  }
}

void Builder::spf() {
  if (c_.txt_status == Lookup::kTempFail) {
    failure("TXT of " + safe(c_.domain) + ": " + safe(c_.txt_error));
    return;
  }
  if (c_.spf.empty()) {
    line("SPF", "none");
    return;
  }
  // DNS returns TXT records in any order; sort them so the report is stable.
  std::vector<std::string> sorted = c_.spf;
  std::sort(sorted.begin(), sorted.end());
  bool first = true;
  for (const auto& s : sorted) {
    line(first ? "SPF" : "", safe(s));
    first = false;
  }
  if (c_.spf.size() > 1)
    problem(safe(c_.domain) + " has " + std::to_string(c_.spf.size()) +
            " SPF records: receivers treat that as an error (RFC 7208 3.2)");
}

DnsReport evaluate(const DomainCheck& c) { return Builder(c).run(); }

std::string DnsReport::render() const {
  std::string out = text;
  if (problems.empty() && failures.empty()) return out + "OK\n";
  if (!problems.empty()) {
    out += std::to_string(problems.size()) + (problems.size() == 1 ? " problem:\n" : " problems:\n");
    for (const auto& p : problems) out += "  - " + p + "\n";
  }
  if (!failures.empty()) {
    out += "incomplete: " + std::to_string(failures.size()) + " lookup(s) failed, try again later:\n";
    for (const auto& f : failures) out += "  - " + f + "\n";
  }
  return out;
}

}  // namespace mailctl
