// Implementation of `mailctl tlsrpt send` (see tlsrpt.hpp).
#include "mailctl/tlsrpt.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <ctime>
#include <set>

#include "common/log/log.hpp"
#include "common/mail/address.hpp"
#include "common/privsep/as_user.hpp"
#include "common/spool/queue_id.hpp"
#include "common/spool/submit.hpp"
#include "common/tlsrpt/https.hpp"
#include "common/tlsrpt/report.hpp"
#include "common/tlsrpt/store.hpp"
#include "common/tlsrpt/txt.hpp"
#include "delivery/remote/http_response.hpp"
#include "mailctl/args.hpp"
#include "mailctl/dns_lookup.hpp"
#include "mailctl/https_client.hpp"

namespace mailctl {

namespace tlsrpt = common::tlsrpt;
using common::Status;

namespace {

constexpr int kDnsTimeout = 10;
constexpr int kSubmitTimeoutMs = 30 * 1000;
constexpr int kPostTimeout = 30;                   // seconds per step of an https: POST
constexpr std::size_t kPostAnswerMax = 64 * 1024;  // what is read of the answer

// Where a domain wants its reports: the addresses and https: URIs, none (no or a bad
// record), or a temporary failure.
struct Rua {
  bool temporary = false;
  std::vector<std::string> mailto;
  std::vector<std::string> https;
  std::string why;
};

Rua rua_of(DnsClient& dns, const std::string& domain) {
  Rua r;
  DnsAnswer a = dns.query("_smtp._tls." + domain, kTypeTxt);
  if (a.status == common::dns::Lookup::kTempFail) {
    r.temporary = true;
    r.why = "_smtp._tls." + domain + " TXT lookup failed: " + a.error;
    return r;
  }
  std::vector<std::string> texts;
  for (const auto& rd : a.rdata)
    if (auto t = decode_txt(rd)) texts.push_back(std::move(*t));
  auto rec = tlsrpt::parse_tlsrpt_txt(texts);
  if (!rec) {
    r.why = "_smtp._tls." + domain + ": " + rec.message();
    return r;
  }
  r.mailto = rec->mailto;
  std::string unusable;
  for (const auto& uri : rec->https) {
    if (auto t = tlsrpt::parse_https_uri(uri))
      r.https.push_back(uri);
    else
      unusable += "; " + uri + ": " + t.message();
  }
  if (r.mailto.empty() && r.https.empty())
    r.why = "_smtp._tls." + domain + ": no mailto: or https: address we can use" + unusable;
  return r;
}

// RFC 8460 5.4: the report POSTed to an https: URI, the server's certificate verified
// for its name; taken when the answer is 2xx.
Status post(DnsClient& dns, const std::string& uri, const std::string& ca_file, const std::string& gz) {
  auto t = tlsrpt::parse_https_uri(uri);
  if (!t) return t.status();
  std::vector<std::string> ips;
  for (bool v6 : {false, true}) {
    DnsAnswer a = dns.query(t->host, v6 ? kTypeAaaa : kTypeA);
    std::vector<std::string_view> raw(a.rdata.begin(), a.rdata.end());
    for (auto& ip : common::dns::decode_addresses(raw, v6)) ips.push_back(std::move(ip));
  }
  auto raw = https_request(ips, t->host, t->port, tlsrpt::report_post_request(*t, gz), ca_file, kPostTimeout,
                           kPostAnswerMax);
  if (!raw) return raw.status();
  auto resp = delivery::remote::parse_http_response(*raw);
  if (!resp) return Status::error("the answer is not HTTP: " + resp.message());
  if (resp->status < 200 || resp->status > 299)
    return Status::error("the server answered " + std::to_string(resp->status));
  return Status::ok();
}

Status submit(const Context& ctx, const std::string& qid, const std::string& from,
              const std::vector<std::string>& to, const std::string& message) {
  common::spool::Envelope env;
  env.queue_id = qid;
  env.arrival = static_cast<std::int64_t>(std::time(nullptr));
  env.protocol = "local";
  env.client = "mailctl tlsrpt send";
  env.sender = from;
  env.recipients = to;
  common::spool::Layout layout = ctx.layout();
  common::spool::DropDir drop(common::io::UniqueFd(), layout.incoming());
  auto w = drop.create(env);
  if (!w) return Status::error("cannot create the queue file: " + w.message());
  MB_TRY(w->append(message));
  MB_TRY(w->finish());
  common::io::UniqueFd fd = w->release_fd();
  auto v = common::spool::submit_blocking(layout.submit_socket(), "sendmail", fd.get(), kSubmitTimeoutMs);
  if (!v) return Status::error(v.message());
  if (v->outcome != common::mail::Outcome::kOk)
    return Status::error("the queue manager refused the report: " + v->status + " " + v->text);
  return Status::ok();
}

// The lines of `text` whose policy domain is in `domains`.
std::string lines_of(std::string_view text, const std::set<std::string>& domains) {
  std::string out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) break;
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    auto s = tlsrpt::parse_session(line);
    if (s && domains.count(s->policy.domain)) out += std::string(line) + "\n";
  }
  return out;
}

Status send_all(Context& ctx, bool include_today, int* sent) {
  const auto& cfg = ctx.cfg;
  std::string from = cfg.tls_report_from.empty() ? "postmaster@" + cfg.hostname : cfg.tls_report_from;
  auto from_addr = common::mail::parse_mailbox(from, false);
  if (!from_addr) return Status::error("tls_report_from: " + from_addr.message());
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::string dir = ctx.layout().tlsrpt();
  auto claimed = tlsrpt::claim_days(dir, tlsrpt::day_of(now), include_today);
  if (!claimed) return claimed.status();
  if (claimed->empty()) {
    std::fprintf(ctx.out, "no TLS sessions recorded for a day to report\n");
    return Status::ok();
  }
  auto dns = DnsClient::create(cfg.dns_resolver, kDnsTimeout, cfg.dns_trust_anchor);
  if (!dns) return dns.status();
  Status result = Status::ok();
  for (const auto& c : *claimed) {
    tlsrpt::DayCounts counts;
    std::size_t skipped = tlsrpt::add_day_file(c.text, &counts);
    if (skipped) std::fprintf(ctx.out, "%s: %zu malformed lines skipped\n", c.day.c_str(), skipped);
    std::set<std::string> retry;
    for (const auto& [domain, policies] : counts) {
      Rua rua = rua_of(**dns, domain);
      if (rua.temporary) {
        retry.insert(domain);
        std::fprintf(ctx.out, "%s %s: %s; kept for the next run\n", c.day.c_str(), domain.c_str(),
                     rua.why.c_str());
        continue;
      }
      if (rua.mailto.empty() && rua.https.empty()) {
        std::fprintf(ctx.out, "%s %s: %s; no report\n", c.day.c_str(), domain.c_str(),
                     common::log::printable(rua.why, 300).c_str());
        continue;
      }
      tlsrpt::ReportInfo info;
      info.organization = from_addr->domain;
      info.contact = from_addr->str();
      info.submitter = from_addr->domain;
      info.hostname = cfg.hostname;
      info.day = c.day;
      info.now = now;
      info.unique = common::spool::new_queue_id();
      auto gz = tlsrpt::gzip(tlsrpt::report_json(info, domain, policies));
      if (!gz) return gz.status();
      // Every address gets the report; the day is done for the domain once one of them
      // took it (a report is not worth duplicates: the others are told in the output).
      std::string to;
      Status st = Status::ok();
      if (!rua.mailto.empty()) {
        std::string msg = tlsrpt::report_message(info, domain, rua.mailto, *gz);
        st = submit(ctx, info.unique, from_addr->str(), rua.mailto, msg);
        if (st)
          for (const auto& a : rua.mailto) to += (to.empty() ? "" : ", ") + a;
        else
          std::fprintf(ctx.out, "%s %s: report not queued: %s\n", c.day.c_str(), domain.c_str(),
                       st.message().c_str());
      }
      for (const auto& uri : rua.https) {
        Status p = post(**dns, uri, cfg.smtp_tls_ca_file, *gz);
        if (p) {
          to += (to.empty() ? "" : ", ") + uri;
        } else {
          std::fprintf(ctx.out, "%s %s: report not posted to %s: %s\n", c.day.c_str(), domain.c_str(),
                       common::log::printable(uri, 300).c_str(),
                       common::log::printable(p.message(), 300).c_str());
          if (st) st = p;
        }
      }
      std::int64_t ok = 0, failed = 0;
      for (const auto& [p, n] : policies) ok += n.successes, failed += n.failures;
      if (to.empty()) {
        retry.insert(domain);
        std::fprintf(ctx.out, "%s %s: no report delivered; kept for the next run\n", c.day.c_str(),
                     domain.c_str());
        result = st;
        continue;
      }
      ++*sent;
      std::fprintf(ctx.out, "%s %s: report %s to %s (%zu polic%s, %lld successful, %lld failed sessions)\n",
                   c.day.c_str(), domain.c_str(), info.unique.c_str(), to.c_str(), policies.size(),
                   policies.size() == 1 ? "y" : "ies", static_cast<long long>(ok),
                   static_cast<long long>(failed));
    }
    // What must be tried again goes back into the day's file, then the claimed one goes.
    if (!retry.empty()) MB_TRY(tlsrpt::append_lines(dir, c.day, lines_of(c.text, retry)));
    if (::unlink(c.path.c_str()) != 0) return Status::sys("unlink " + c.path);
  }
  return result;
}

}  // namespace

int cmd_tlsrpt_send(Context& ctx, bool include_today) {
  if (!ctx.cfg.tls_report) {
    std::fprintf(ctx.out, "tls_report = no: no TLS reports are sent\n");
    return kExitOk;
  }
  int sent = 0;
  // As the owner of spool/tlsrpt (its files must stay the remote agent's), with the
  // drop directory's group to queue the reports.
  Status st = common::privsep::run_as(common::privsep::Owner{"mb-remote", "mb-remote", {"mb-drop"}},
                                      [&] { return send_all(ctx, include_today, &sent); });
  std::fflush(ctx.out);
  if (!st) {
    complain(ctx, "tlsrpt send: " + st.message());
    return EX_TEMPFAIL;
  }
  return kExitOk;
}

}  // namespace mailctl
