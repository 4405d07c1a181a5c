// Tests of check-dns's judgement (dns_report.hpp) over hand-made lookup results, in the
// usual small-site layout: the server's own MX with the best preference, the ISP's
// spooling server as backup; and of own_addresses().
#include "mailctl/dns_report.hpp"

#include <doctest/doctest.h>
#include <sysexits.h>

#include <algorithm>

#include "mailctl/check_dns.hpp"

using namespace mailctl;
using common::dns::Lookup;

namespace {

AddrCheck addr(const std::string& ip, const std::string& ptr, bool ours = false) {
  AddrCheck a;
  a.ip = ip;
  a.ours = ours;
  a.ptr_status = Lookup::kOk;
  a.ptr_names = {ptr};
  a.confirmed = {ptr};
  return a;
}

HostCheck host(const std::string& name, std::uint16_t pref, std::vector<AddrCheck> addrs) {
  HostCheck h;
  h.name = name;
  h.preference = pref;
  h.a_status = Lookup::kOk;
  h.addrs = std::move(addrs);
  return h;
}

// Healthy: mail.example.org (this server) at 10, relay1.isp.net at 20, one SPF record.
DomainCheck healthy() {
  DomainCheck c;
  c.domain = "example.org";
  c.hostname = "mail.example.org";
  c.our_addrs = {"192.0.2.1", "127.0.0.1"};
  c.role = DomainRole::kLocal;
  c.hosts = {host("mail.example.org", 10, {addr("192.0.2.1", "mail.example.org", true)}),
             host("relay1.isp.net", 20, {addr("198.51.100.7", "relay1.isp.net")})};
  c.hosts[0].name_is_ours = true;
  c.txt_status = Lookup::kOk;
  c.spf = {"v=spf1 mx -all"};
  return c;
}

bool has_problem(const DnsReport& r, const std::string& part) {
  return std::any_of(r.problems.begin(), r.problems.end(),
                     [&](const std::string& p) { return p.find(part) != std::string::npos; });
}

}  // namespace

TEST_CASE("check-dns: a healthy setup is OK") {
  DnsReport r = evaluate(healthy());
  CHECK(r.exit_code == 0);
  CHECK(r.problems.empty());
  std::string out = r.render();
  CHECK(out.find("domain       example.org: a local domain of this server\n") != std::string::npos);
  CHECK(out.find("this server  mail.example.org [192.0.2.1, 127.0.0.1]\n") != std::string::npos);
  CHECK(out.find("MX           10 mail.example.org\n             20 relay1.isp.net\n") != std::string::npos);
  CHECK(out.find("host         mail.example.org (MX 10, this server's hostname)\n"
                 "  address    192.0.2.1 (this server)\n"
                 "  PTR        mail.example.org (resolves back to 192.0.2.1: forward-confirmed)\n") !=
        std::string::npos);
  CHECK(out.find("this server  is the best MX (mail.example.org)\n") != std::string::npos);
  CHECK(out.find("SPF          v=spf1 mx -all\n") != std::string::npos);
  CHECK(out.ends_with("\nOK\n"));
}

TEST_CASE("check-dns: reverse DNS problems") {
  DomainCheck c = healthy();
  c.hosts[1].addrs[0].ptr_status = Lookup::kNxDomain;
  c.hosts[1].addrs[0].ptr_names.clear();
  c.hosts[1].addrs[0].confirmed.clear();
  DnsReport r = evaluate(c);
  CHECK(r.exit_code == 1);
  REQUIRE(r.problems.size() == 1);
  CHECK(has_problem(r, "198.51.100.7 (relay1.isp.net) has no PTR record"));
  CHECK(r.render().find("\n1 problem:\n  - 198.51.100.7") != std::string::npos);

  c = healthy();
  c.hosts[0].addrs[0].ptr_names = {"dsl-192-0-2-1.isp.net"};
  c.hosts[0].addrs[0].confirmed.clear();
  r = evaluate(c);
  CHECK(r.exit_code == 1);
  CHECK(has_problem(r, "the PTR name dsl-192-0-2-1.isp.net does not resolve back to 192.0.2.1"));
  CHECK(r.text.find("PTR        dsl-192-0-2-1.isp.net (does not resolve back to 192.0.2.1)") !=
        std::string::npos);

  // Two MX names for one address: its reverse DNS is judged once.
  c = healthy();
  c.hosts[1].addrs[0].ptr_names.clear();
  c.hosts[1].addrs[0].confirmed.clear();
  c.hosts.push_back(c.hosts[1]);
  c.hosts[2].name = "relay2.isp.net";
  r = evaluate(c);
  CHECK(r.problems.size() == 1);
  CHECK(r.text.find("host         relay2.isp.net (MX 20)\n  address    198.51.100.7\n  PTR        none\n") !=
        std::string::npos);
}

TEST_CASE("check-dns: whether this server is the MX, by role") {
  // A local domain whose MX records all point elsewhere.
  DomainCheck c = healthy();
  c.hosts[0].name_is_ours = false;
  c.hosts[0].addrs[0].ours = false;
  DnsReport r = evaluate(c);
  CHECK(has_problem(r, "no MX of example.org points at this server"));
  CHECK(r.text.find("this server  is not an MX of example.org\n") != std::string::npos);

  // Found by address alone (the hostname differs), also as a backup MX: not a problem.
  c = healthy();
  c.hosts[0].name_is_ours = false;
  c.hostname = "other.example.org";
  CHECK(evaluate(c).exit_code == 0);
  std::swap(c.hosts[0].preference, c.hosts[1].preference);
  std::swap(c.hosts[0], c.hosts[1]);
  r = evaluate(c);
  CHECK(r.exit_code == 0);
  CHECK(r.text.find("this server  is a backup MX (mail.example.org, preference 20)\n") != std::string::npos);

  // relay_domains (backup MX): must be an MX, but not the best.
  c.role = DomainRole::kBackup;
  CHECK(evaluate(c).exit_code == 0);
  c = healthy();
  c.role = DomainRole::kBackup;
  CHECK(has_problem(evaluate(c), "this server is the best MX of example.org, but only its backup"));
  c.hosts.erase(c.hosts.begin());
  CHECK(has_problem(evaluate(c), "example.org is in relay_domains, but no MX of it names this server"));

  // Not our domain: fine, unless its MX points here.
  c = healthy();
  c.role = DomainRole::kUnknown;
  CHECK(has_problem(evaluate(c), "is neither a local domain nor in relay_domains"));
  c.hosts.erase(c.hosts.begin());
  r = evaluate(c);
  CHECK(r.exit_code == 0);
  CHECK(r.text.find("domain       example.org: not a domain of this server\n") != std::string::npos);

  c = healthy();
  c.role = DomainRole::kAlias;
  c.role_note = "example.com";
  CHECK(evaluate(c).text.find("a local domain of this server (alias of example.com)") != std::string::npos);
}

TEST_CASE("check-dns: null MX and implicit MX (RFC 7505, RFC 5321 5.1)") {
  DomainCheck c = healthy();
  c.hosts.clear();
  c.null_mx = true;
  DnsReport r = evaluate(c);
  CHECK(r.text.find("MX           0 . (null MX: this domain accepts no mail, RFC 7505)\n") !=
        std::string::npos);
  CHECK(has_problem(r, "has a null MX (RFC 7505), so no one can send it mail"));
  c.role = DomainRole::kUnknown;
  CHECK(evaluate(c).exit_code == 0);

  c = healthy();
  c.null_mx = true;
  CHECK(has_problem(evaluate(c), "a null MX must stand alone"));

  c = healthy();
  c.implicit_mx = true;
  c.hosts = {host("example.org", 0, {addr("192.0.2.1", "mail.example.org", true)})};
  r = evaluate(c);
  CHECK(r.exit_code == 0);
  CHECK(r.text.find("MX           none: mail goes to the domain's A/AAAA (RFC 5321 5.1)\n") !=
        std::string::npos);
  CHECK(r.text.find("this server  receives the domain's mail (implicit MX)\n") != std::string::npos);
  c.hosts[0].addrs.clear();
  c.hosts[0].a_status = Lookup::kNoData;
  CHECK(has_problem(evaluate(c), "example.org has neither MX nor A/AAAA records"));
}

TEST_CASE("check-dns: broken MX hosts") {
  DomainCheck c = healthy();
  c.hosts[1].addrs.clear();
  c.hosts[1].a_status = Lookup::kNoData;
  c.hosts[1].aaaa_status = Lookup::kNoData;
  CHECK(has_problem(evaluate(c), "MX relay1.isp.net has no A or AAAA record"));
  c.hosts[1].a_status = Lookup::kNxDomain;
  c.hosts[1].aaaa_status = Lookup::kNxDomain;
  CHECK(has_problem(evaluate(c), "MX relay1.isp.net does not exist (NXDOMAIN)"));

  c = healthy();
  c.hosts[1].cname = "spool.isp.net";
  CHECK(has_problem(evaluate(c), "MX relay1.isp.net is an alias (CNAME) of spool.isp.net"));
  c = healthy();
  c.hosts[1].usable = false;
  c.hosts[1].name = "bad_name.isp.net";
  CHECK(has_problem(evaluate(c), "MX bad_name.isp.net is not a usable host name"));

  c = healthy();
  c.mx_status = Lookup::kNxDomain;
  c.hosts.clear();
  DnsReport r = evaluate(c);
  CHECK(has_problem(r, "example.org does not exist in the DNS (NXDOMAIN)"));
  CHECK(r.exit_code == 1);
}

TEST_CASE("check-dns: SPF") {
  DomainCheck c = healthy();
  c.spf.clear();
  DnsReport r = evaluate(c);
  CHECK(r.exit_code == 0);
  CHECK(r.text.find("SPF          none\n") != std::string::npos);
  c.spf = {"v=spf1 mx -all", "v=spf1 a ~all"};
  r = evaluate(c);
  CHECK(has_problem(r, "has 2 SPF records"));
  CHECK(r.text.find("SPF          v=spf1 a ~all\n             v=spf1 mx -all\n") != std::string::npos);
}

TEST_CASE("check-dns: failed lookups make the report incomplete (exit 75)") {
  DomainCheck c = healthy();
  c.mx_status = Lookup::kTempFail;
  c.mx_error = "no answer within 10 seconds";
  c.hosts.clear();
  DnsReport r = evaluate(c);
  CHECK(r.exit_code == EX_TEMPFAIL);
  CHECK(r.render().find("incomplete: 1 lookup(s) failed, try again later:\n"
                        "  - MX of example.org: no answer within 10 seconds\n") != std::string::npos);

  c = healthy();
  c.hosts[1].addrs[0].ptr_status = Lookup::kTempFail;
  c.hosts[1].addrs[0].ptr_names.clear();
  c.hosts[1].addrs[0].ptr_error = "server failure (rcode 2)";
  c.hosts[0].addrs[0].ptr_names = {"elsewhere.example"};
  c.hosts[0].addrs[0].confirmed.clear();
  r = evaluate(c);
  CHECK(r.exit_code == EX_TEMPFAIL);  // and the problem found is still listed
  CHECK(r.problems.size() == 1);
  CHECK(r.failures.size() == 1);
}

TEST_CASE("own_addresses: smtp_listen hosts and interface addresses, no wildcards") {
  common::config::Config cfg = common::config::defaults();
  cfg.smtp_listen = {"192.0.2.5:25", "0.0.0.0:25", "[::]:2525", "[2001:DB8::1]:25"};
  auto a = own_addresses(cfg);
  REQUIRE(a.size() >= 2);
  CHECK(a[0] == "192.0.2.5");
  CHECK(a[1] == "2001:db8::1");
  CHECK(std::find(a.begin(), a.end(), "0.0.0.0") == a.end());
  CHECK(std::find(a.begin(), a.end(), "::") == a.end());
  CHECK(std::find(a.begin(), a.end(), "127.0.0.1") != a.end());  // the loopback interface
}
