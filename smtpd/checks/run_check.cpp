// The checks of one request (see run_check.hpp).
#include "smtpd/checks/run_check.hpp"

#include "common/mail/mime_scan.hpp"
#include "smtpd/checks/from_domain.hpp"
#include "smtpd/checks/message_checks.hpp"
#include "smtpd/checks/spf.hpp"

namespace checks {
namespace {

using common::checks::ResInfo;
using common::ipc::CheckDone;

constexpr auto kCacheTime = std::chrono::minutes(5);
constexpr std::size_t kCacheMax = 10000;
constexpr std::size_t kHeaderLimit = 256 * 1024;  // From must be within the first 256 KB
// The content rules read the whole message into memory: at most this much of it.
constexpr std::uint64_t kContentLimit = 64u << 20;

void dns_lists(Context& ctx, const std::string& ip, CheckDone* out) {
  if (ctx.settings.lists.empty()) return;
  if (ctx.cache.get(ip, out)) return;
  std::vector<common::checks::ListAnswer> answers;
  for (const auto& l : ctx.settings.lists) {
    common::checks::ListAnswer a;
    a.list = &l;
    std::string name = common::checks::query_name(ip, l.zone);
    if (name.empty()) continue;
    DnsAnswer d = ctx.dns.query(name, kTypeA);
    a.temperror = d.rcode == DnsAnswer::Rcode::kTempFail;
    for (const auto& r : d.rdata) a.addresses.push_back(a_string(r));
    answers.push_back(std::move(a));
  }
  auto v = common::checks::score(answers, ctx.settings.threshold);
  using K = common::checks::DnsblVerdict::Kind;
  out->dnsbl = v.kind == K::kListed ? 1 : v.kind == K::kAllowed ? 2 : v.kind == K::kTempError ? 3 : 0;
  out->dnsbl_zone = v.zone;
  out->dnsbl_code = v.code;
  // RFC 8904 3: dnswl=pass dns.zone=<list> policy.ip=<answer>
  if (v.kind == K::kAllowed) out->results.push_back({"dnswl", "pass", v.detail, {{"dns", "zone", v.zone}}});
  if (v.kind != K::kTempError) ctx.cache.put(ip, *out);
}

void spf(Context& ctx, const common::ipc::Check& req, CheckDone* out) {
  if (!ctx.settings.spf) return;
  SpfResult m = spf_mailfrom(ctx.dns, req.client_ip, req.helo, req.sender);
  // RFC 8601 2.7.2: smtp.mailfrom for the MAIL FROM identity, smtp.helo for HELO.
  if (req.sender.empty()) {
    out->results.push_back({"spf", m.result, m.comment, {{"smtp", "mailfrom", "postmaster@" + m.domain}}});
  } else {
    out->results.push_back({"spf", m.result, m.comment, {{"smtp", "mailfrom", req.sender}}});
  }
  SpfResult h = spf_helo(ctx.dns, req.client_ip, req.helo);
  out->results.push_back({"spf", h.result, h.comment, {{"smtp", "helo", req.helo}}});
}

// The administrator's content rules (mailctl rule add word / attachment-size): the
// message walked as MIME (common/mail/mime_scan.hpp), here where untrusted content is
// read by a process that holds nothing.
void content(const common::ipc::Check& req, int fd, CheckDone* out) {
  common::mail::ContentRules rules;
  rules.reject_words = req.reject_words;
  rules.junk_words = req.junk_words;
  rules.attachment_max = req.attachment_max;
  if (rules.empty()) return;
  if (req.data_size > kContentLimit) {
    out->content = static_cast<std::uint8_t>(common::mail::ContentVerdict::kUnreadable);
    out->content_detail = "message larger than " + std::to_string(kContentLimit) + " bytes";
    return;
  }
  std::string msg = read_head(fd, req.data_offset, req.data_size, static_cast<std::size_t>(req.data_size));
  auto r = common::mail::scan_content(msg, rules);
  out->content = static_cast<std::uint8_t>(r.verdict);
  out->content_detail = r.detail;
}

void message(Context& ctx, const common::ipc::Check& req, int fd, CheckDone* out) {
  if (fd < 0) return;
  content(req, fd, out);
  std::vector<DkimSig> sigs;
  if (ctx.settings.dkim || ctx.settings.dmarc) {
    std::string error;
    sigs = verify_dkim(ctx.dns, fd, req.data_offset, req.data_size, req.queue_id, &error);
    if (ctx.settings.dkim) {
      if (sigs.empty()) out->results.push_back({"dkim", error.empty() ? "none" : "permerror", error, {}});
      for (const auto& s : sigs)
        out->results.push_back(
            {"dkim",
             s.result,
             s.comment,
             {{"header", "d", s.domain}, {"header", "s", s.selector}, {"header", "a", s.algorithm}}});
    }
  }
  if (!ctx.settings.dmarc) return;
  std::string spf_result = "none", spf_domain;
  for (const auto& r : req.earlier) {
    if (r.method != "spf") continue;
    for (const auto& p : r.props) {
      if (p.ptype == "smtp" && p.property == "mailfrom") {
        spf_result = r.result;
        std::size_t at = p.value.rfind('@');
        spf_domain = at == std::string::npos ? p.value : p.value.substr(at + 1);
      }
    }
  }
  std::string head = read_head(fd, req.data_offset, req.data_size, kHeaderLimit);
  std::string headers(header_section(head, head.size()));
  DmarcVerdict d = check_dmarc(ctx.dns, ctx.psl, headers, spf_result, spf_domain, sigs);
  ResInfo r{"dmarc", d.result, d.comment, {}};
  if (!d.from_domain.empty()) r.props.push_back({"header", "from", d.from_domain});
  out->results.push_back(std::move(r));
  if (d.result == "fail") out->dmarc_policy = policy_name(d.applied);
}

}  // namespace

Settings settings_from(const common::config::Config& cfg) {
  Settings s;
  auto bl = common::checks::parse_lists(cfg.dnsbl_zones, false);
  auto wl = common::checks::parse_lists(cfg.dnswl_zones, true);
  if (bl) s.lists = std::move(*bl);
  if (wl) s.lists.insert(s.lists.end(), wl->begin(), wl->end());
  s.threshold = static_cast<int>(cfg.dnsbl_threshold);
  s.spf = cfg.spf_check || cfg.dmarc_check;
  s.dkim = cfg.dkim_check;
  s.dmarc = cfg.dmarc_check;
  return s;
}

bool DnsblCache::get(const std::string& ip, CheckDone* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(ip);
  if (it == map_.end()) return false;
  if (it->second.expires < std::chrono::steady_clock::now()) {
    map_.erase(it);
    return false;
  }
  std::uint64_t id = out->request_id;
  *out = it->second.verdict;
  out->request_id = id;
  return true;
}

void DnsblCache::put(const std::string& ip, const CheckDone& v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.size() >= kCacheMax) map_.clear();  // crude, bounded
  map_[ip] = Entry{std::chrono::steady_clock::now() + kCacheTime, v};
}

void DnsblCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  map_.clear();
}

CheckDone run_check(Context& ctx, const common::ipc::Check& req, int fd) {
  CheckDone out;
  out.request_id = req.request_id;
  switch (req.stage) {
    case common::ipc::CheckStage::kConnect: dns_lists(ctx, req.client_ip, &out); break;
    case common::ipc::CheckStage::kMail: spf(ctx, req, &out); break;
    case common::ipc::CheckStage::kData: message(ctx, req, fd, &out); break;
  }
  return out;
}

}  // namespace checks
