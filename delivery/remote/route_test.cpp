// Tests of the remote agent's pure parts: routes from DNS answers (RFC 5321 5.1, RFC
// 7505), verdict texts, settings and the relayhost credentials file.
#include "delivery/remote/route.hpp"

#include <doctest/doctest.h>

#include "common/smtp/reply.hpp"
#include "delivery/remote/etrn.hpp"
#include "delivery/remote/settings.hpp"
#include "delivery/remote/verdicts.hpp"

using namespace delivery::remote;
using common::dns::AddrAnswer;
using common::dns::Lookup;
using common::dns::MxAnswer;
using common::dns::MxHost;
using common::mail::Outcome;

namespace {

HostAddresses host(int pref, std::string name, std::vector<std::string> v4, std::vector<std::string> v6 = {},
                   Lookup v4status = Lookup::kOk) {
  HostAddresses h;
  h.mx = MxHost{static_cast<std::uint16_t>(pref), std::move(name)};
  h.v4.status = v4.empty() && v4status == Lookup::kOk ? Lookup::kNoData : v4status;
  h.v4.addrs = std::move(v4);
  h.v6.status = v6.empty() ? Lookup::kNoData : Lookup::kOk;
  h.v6.addrs = std::move(v6);
  return h;
}

Target domain(std::string d) { return target_for_domain(d); }

}  // namespace

TEST_CASE("MX plan: null MX bounces at once (RFC 7505 4.1)") {
  MxAnswer a;
  a.null_mx = true;
  auto p = plan_from_mx(domain("nullmx.test"), a);
  CHECK(p.failure.outcome == Outcome::kPermanent);
  CHECK(p.failure.status == "5.1.10");
}

TEST_CASE("MX plan: no MX records means the domain itself (RFC 5321 5.1)") {
  MxAnswer a;
  a.status = Lookup::kNoData;
  auto p = plan_from_mx(domain("nomx.test"), a);
  REQUIRE(p.ok());
  REQUIRE(p.hosts.size() == 1);
  CHECK(p.hosts[0].host == "nomx.test");
}

TEST_CASE("MX plan: NXDOMAIN is permanent, SERVFAIL temporary") {
  MxAnswer a;
  a.status = Lookup::kNxDomain;
  auto p = plan_from_mx(domain("nosuch.test"), a);
  CHECK(p.failure.outcome == Outcome::kPermanent);
  CHECK(p.failure.status == "5.1.2");
  a.status = Lookup::kTempFail;
  a.error = "DNS lookup timed out";
  p = plan_from_mx(domain("slow.test"), a);
  CHECK(p.failure.outcome == Outcome::kTemporary);
  CHECK(p.failure.status == "4.4.3");
  CHECK(p.failure.text.find("timed out") != std::string::npos);
}

TEST_CASE("route: preference order, IPv4 before IPv6, duplicates dropped") {
  Self self;
  auto r = route_from_hosts(domain("example.test"),
                            {host(10, "mx1.example.test", {"192.0.2.1"}, {"2001:db8::1"}),
                             host(20, "mx2.example.test", {"192.0.2.2", "192.0.2.1"})},
                            self);
  REQUIRE(r.ok());
  REQUIRE(r.endpoints.size() == 3);
  CHECK(r.endpoints[0].str() == "mx1.example.test[192.0.2.1]:25");
  CHECK(r.endpoints[1].str() == "mx1.example.test[2001:db8::1]:25");
  CHECK(r.endpoints[2].str() == "mx2.example.test[192.0.2.2]:25");
}

TEST_CASE("route: a backup MX uses only better MX hosts (RFC 5321 5.1)") {
  Self self;
  self.names = {"backup.isp.test"};
  auto r = route_from_hosts(
      domain("customer.test"),
      {host(10, "mail.customer.test", {"192.0.2.10"}), host(20, "backup.isp.test", {"192.0.2.20"}),
       host(30, "other.isp.test", {"192.0.2.30"})},
      self);
  REQUIRE(r.ok());
  REQUIRE(r.endpoints.size() == 1);
  CHECK(r.endpoints[0].host == "mail.customer.test");

  // Recognised by address (and port) too, not only by name.
  Self by_addr;
  by_addr.endpoints = {{"192.0.2.20", 25}};
  r = route_from_hosts(
      domain("customer.test"),
      {host(10, "mail.customer.test", {"192.0.2.10"}), host(20, "mx2.customer.test", {"192.0.2.20"})},
      by_addr);
  REQUIRE(r.endpoints.size() == 1);
  CHECK(r.endpoints[0].ip == "192.0.2.10");

  // The same address on another port is not us.
  Self other_port;
  other_port.endpoints = {{"192.0.2.20", 2525}};
  r = route_from_hosts(domain("customer.test"), {host(20, "mx2.customer.test", {"192.0.2.20"})}, other_port);
  CHECK(r.ok());
}

TEST_CASE("route: the best MX is ourselves: a loop, deferred (RFC 5321 5.1)") {
  Self self;
  self.names = {"mail.customer.test"};
  auto r = route_from_hosts(
      domain("customer.test"),
      {host(10, "mail.customer.test", {"192.0.2.10"}), host(20, "backup.isp.test", {"192.0.2.20"})}, self);
  CHECK_FALSE(r.ok());
  CHECK(r.failure.outcome == Outcome::kTemporary);
  CHECK(r.failure.status == "4.4.6");
  CHECK(r.failure.text == "mail for customer.test loops back to myself");
}

TEST_CASE("route: MX hosts without addresses") {
  Self self;
  auto r = route_from_hosts(domain("example.test"), {host(10, "gone.example.test", {})}, self);
  CHECK(r.failure.outcome == Outcome::kPermanent);
  CHECK(r.failure.status == "5.4.4");
  r = route_from_hosts(
      domain("example.test"),
      {host(10, "slow.example.test", {}, {}, Lookup::kTempFail), host(20, "gone.example.test", {})}, self);
  CHECK(r.failure.outcome == Outcome::kTemporary);
  CHECK(r.failure.status == "4.4.3");
}

TEST_CASE("targets: address literals and relay hosts") {
  auto t = target_for_domain("[192.0.2.5]");
  CHECK(t.is_ip);
  CHECK_FALSE(t.mx_lookup);
  CHECK(t.name == "192.0.2.5");
  t = target_for_domain("[IPv6:2001:db8::5]");
  CHECK(t.is_ip);
  CHECK(t.name == "2001:db8::5");
  t = target_for_domain("example.test");
  CHECK(t.mx_lookup);
  CHECK_FALSE(t.is_ip);
  auto hop = common::smtp::parse_next_hop("[smtp.isp.test]:587");
  REQUIRE(hop.is_ok());
  t = target_for_hop(*hop);
  CHECK(t.relay);
  CHECK_FALSE(t.mx_lookup);
  CHECK(t.port == 587);
}

TEST_CASE("verdicts start with the remote reply, for an smtp Diagnostic-Code (RFC 3464 2.3.6)") {
  common::smtp::Report rep;
  rep.outcome = Outcome::kPermanent;
  rep.stage = common::smtp::Stage::kRcpt;
  common::smtp::Reply reply;
  reply.code = 550;
  reply.enhanced = "5.1.1";
  reply.lines = {"5.1.1 <x@example.test>: unknown user"};
  rep.reply = reply;
  rep.status = "5.1.1";
  auto v = verdict_for(rep, "mx.example.test[192.0.2.5]:25");
  CHECK(v.outcome == Outcome::kPermanent);
  CHECK(v.status == "5.1.1");
  CHECK(v.text ==
        "550 5.1.1 <x@example.test>: unknown user (host mx.example.test[192.0.2.5], in reply to RCPT TO)");

  // A 4xx reply carrying a 5.x.x code is still temporary, and its status says so.
  rep.outcome = Outcome::kTemporary;
  rep.status = "5.7.1";
  v = verdict_for(rep, "mx.example.test[192.0.2.5]:25");
  CHECK(v.status == "4.7.1");

  common::smtp::Report lost;
  lost.outcome = Outcome::kTemporary;
  lost.status = "4.4.2";
  lost.detail = "lost connection while waiting for the reply to DATA";
  v = verdict_for(lost, "[192.0.2.5]:25");
  CHECK(v.text == "lost connection while waiting for the reply to DATA (host [192.0.2.5])");

  v = connect_failure("mx.example.test[192.0.2.5]:25", "Connection refused");
  CHECK(v.outcome == Outcome::kTemporary);
  CHECK(v.status == "4.4.1");
  CHECK(v.text == "connect to mx.example.test[192.0.2.5]:25: Connection refused");
}

TEST_CASE("relayhost credentials file") {
  auto c = parse_credentials("# ISP account\n\n  alice   s3cret!  \n");
  REQUIRE(c.is_ok());
  CHECK(c->user == "alice");
  CHECK(c->password == "s3cret!");
  CHECK_FALSE(parse_credentials("").is_ok());
  CHECK_FALSE(parse_credentials("alice\n").is_ok());
  CHECK_FALSE(parse_credentials("alice two words\n").is_ok());
  CHECK_FALSE(parse_credentials(std::string("alice pa\x01ss\n")).is_ok());
  // Edges: CRLF line ends, tabs as blanks, only the first line counts, 255-byte limits.
  auto crlf = parse_credentials("\talice\tpw\t\r\nbob other\r\n");
  REQUIRE(crlf.is_ok());
  CHECK(crlf->user == "alice");
  CHECK(crlf->password == "pw");
  CHECK(parse_credentials(std::string(255, 'u') + " " + std::string(255, 'p')).is_ok());
  CHECK_FALSE(parse_credentials(std::string(256, 'u') + " p").is_ok());
  CHECK_FALSE(parse_credentials("u " + std::string(256, 'p')).is_ok());
  CHECK_FALSE(parse_credentials(std::string("alice p\0w\n", 10)).is_ok());
  CHECK_FALSE(parse_credentials("# only a comment\n   \n").is_ok());
}

TEST_CASE("settings: relayhost, AUTH forces verified TLS to the configured name, who we are") {
  auto cfg = common::config::parse(
      "hostname = Mail.Example.Test\nsmtp_listen = 127.0.0.5:25, 0.0.0.0:2525\nrelayhost = "
      "[smtp.isp.test]:587\n"
      "etrn_hosts = backup.isp.test\netrn_domains = Example.Test\nwakeup_every = 15m\nremote_timeout = 10s\n",
      "test.conf");
  REQUIRE(cfg.is_ok());
  auto s = make_settings(*cfg, {"192.0.2.9"});
  REQUIRE_MESSAGE(s.is_ok(), s.message());
  REQUIRE(s->relayhost.has_value());
  CHECK(s->relayhost->str() == "[smtp.isp.test]:587");
  CHECK(s->policy_for_relay() == common::smtp::TlsPolicy::kMay);
  s->relay_auth = Credentials{"u", "p"};
  // Credentials go only to a certificate that verifies for the configured relayhost name,
  // even when smtp_tls_policy is may or encrypt.
  CHECK(s->policy_for_relay() == common::smtp::TlsPolicy::kVerify);
  CHECK(s->relay_tls_name() == "smtp.isp.test");
  s->tls = common::smtp::TlsPolicy::kEncrypt;
  CHECK(s->policy_for_relay() == common::smtp::TlsPolicy::kVerify);
  CHECK(s->timeout == 10);
  CHECK(s->connect_timeout() == 10);
  CHECK(s->wakeup_every == 900);
  CHECK(s->etrn_domains == std::vector<std::string>{"example.test"});
  CHECK(s->self.is_self("MAIL.example.test", "", 0));
  CHECK(s->self.is_self("", "127.0.0.5", 25));
  CHECK(s->self.is_self("", "192.0.2.9", 2525));  // the wildcard listener
  CHECK_FALSE(s->self.is_self("", "192.0.2.9", 25));

  auto bad = common::config::parse("etrn_hosts = backup.isp.test\n", "test.conf");
  REQUIRE(bad.is_ok());
  CHECK_FALSE(make_settings(*bad, {}).is_ok());  // ETRN for which domains?
  auto auth_without_relay = common::config::parse("relayhost_auth_file = /nonexistent\n", "test.conf");
  REQUIRE(auth_without_relay.is_ok());
  CHECK_FALSE(make_settings(*auth_without_relay, {}).is_ok());
}

TEST_CASE("config checks of the remote keys") {
  CHECK_FALSE(common::config::parse("relayhost = bad_host\n", "t").is_ok());
  CHECK_FALSE(common::config::parse("dns_resolver = dns.example\n", "t").is_ok());
  CHECK(common::config::parse("dns_resolver = 127.0.0.53:5353\n", "t").is_ok());
  CHECK_FALSE(common::config::parse("smtp_tls_policy = maybe\n", "t").is_ok());
  CHECK_FALSE(common::config::parse("etrn_domains = not a_domain\n", "t").is_ok());
  CHECK_FALSE(common::config::parse("wakeup_email = nobody\n", "t").is_ok());
  CHECK_FALSE(common::config::parse("relayhost_auth_file = relative/path\n", "t").is_ok());
}

TEST_CASE("the wake-up message") {
  std::string m = wakeup_message("mail.example.test", "wakeup@isp.test", {"example.test", "example.org"}, 0);
  CHECK(m.find("From: Mail System <postmaster@mail.example.test>\n") == 0);
  CHECK(m.find("To: <wakeup@isp.test>\n") != std::string::npos);
  CHECK(m.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\n") != std::string::npos);
  CHECK(m.find("Auto-Submitted: auto-generated\n") != std::string::npos);
  CHECK(m.find("(example.test, example.org)") != std::string::npos);
  CHECK(m.find('\r') == std::string::npos);
  CHECK(m.back() == '\n');
}
