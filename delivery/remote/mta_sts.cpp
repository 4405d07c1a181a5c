// Implementation of the MTA-STS policy lookup and cache (see mta_sts.hpp).
#include "delivery/remote/mta_sts.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "common/dns/resolver.hpp"
#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/log/log.hpp"
#include "delivery/remote/http_response.hpp"

namespace delivery::remote {

namespace log = common::log;
using common::dns::Lookup;

namespace {
std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }
}  // namespace

StsResolver::StsResolver(event_base* base, common::dns::Resolver& resolver, SSL_CTX* verify_ctx,
                         std::string cache_dir, int timeout_seconds)
    : base_(base),
      resolver_(resolver),
      ctx_(verify_ctx),
      dir_(std::move(cache_dir)),
      timeout_(timeout_seconds) {}

StsResolver::~StsResolver() { life_.end(); }

void StsResolver::lookup(const std::string& domain, Callback cb) {
  auto& p = pending_[domain];
  p.waiting.push_back(std::move(cb));
  if (p.waiting.size() > 1) return;  // a lookup for this domain is under way
  common::io::Guard alive = life_.guard();
  resolver_.lookup_txt("_mta-sts." + domain, [this, alive, domain](common::dns::TxtAnswer a) {
    if (alive) on_txt(domain, a);
  });
}

StsResult StsResolver::from_cache(const StsCacheEntry& e, const std::string& why) const {
  StsResult r;
  if (e.policy.mode != StsMode::kNone) r.policy = e.policy;
  r.why = why + "cached policy id " + e.id + ", mode " + sts_mode_name(e.policy.mode) + ", valid for " +
          std::to_string(e.expires() - now()) + "s more";
  return r;
}

void StsResolver::on_txt(const std::string& domain, const common::dns::TxtAnswer& a) {
  const StsCacheEntry* c = cached(domain);
  std::string problem;
  if (a.status == Lookup::kOk) {
    auto id = parse_sts_txt(a.texts);
    if (id) {
      if (c && c->id == *id) return answer(domain, from_cache(*c, ""));
      if (auto f = failed_.find(domain);
          f != failed_.end() && f->second.id == *id && now() < f->second.retry_at) {
        // Held back: the same answer as the failed fetch gave, without asking again.
        std::string what = "policy id " + *id + " not fetched again before " +
                           std::to_string(f->second.retry_at - now()) + "s (" +
                           std::to_string(f->second.count) + " failed fetch" +
                           (f->second.count == 1 ? "" : "es") + ", the last: " + f->second.why + ")";
        StsResult r = c ? from_cache(*c, what + "; using the ") : StsResult{};
        if (!c) r.why = what + "; no cached policy: delivering as if the domain had none (RFC 8461 5)";
        r.fetch_failed = true;
        return answer(domain, std::move(r));
      }
      // New or changed id (or nothing cached): fetch (RFC 8461 3.3).
      std::string host = "mta-sts." + domain;
      common::io::Guard alive = life_.guard();
      std::string want = *id;
      auto& p = pending_[domain];
      p.fetch = std::make_unique<HttpsFetch>(base_, resolver_, ctx_, host, timeout_,
                                             [this, alive, domain, want](common::Result<std::string> raw) {
                                               if (alive) on_fetched(domain, want, std::move(raw));
                                             });
      p.fetch->start();
      return;
    }
    problem = "_mta-sts." + domain + " TXT: " + id.message();
  } else if (a.status == Lookup::kTempFail) {
    problem = "_mta-sts." + domain + " TXT lookup failed: " + a.error;
  } else {
    problem = "no _mta-sts." + domain + " TXT record";
  }
  // RFC 8461 5: without a (usable) TXT record, an unexpired cached policy still holds.
  if (c) return answer(domain, from_cache(*c, problem + "; "));
  StsResult r;
  r.why = problem + ": no MTA-STS policy";
  answer(domain, std::move(r));
}

void StsResolver::on_fetched(const std::string& domain, const std::string& id,
                             common::Result<std::string> raw) {
  // The fetch is inside its own callback: free it on the next turn.
  if (auto it = pending_.find(domain); it != pending_.end() && it->second.fetch) {
    auto holder = std::make_shared<std::unique_ptr<HttpsFetch>>(std::move(it->second.fetch));
    common::io::run_soon(base_, [holder] { holder->reset(); });
  }
  std::string problem;
  if (!raw) {
    problem = raw.message();
  } else if (auto resp = parse_http_response(*raw); !resp) {
    problem = resp.message();
  } else if (std::string bad = sts_response_problem(*resp); !bad.empty()) {
    problem = bad;
  } else if (auto p = parse_sts_policy(resp->body); !p) {
    problem = "bad policy: " + p.message();
  } else {
    StsCacheEntry e;
    e.id = id;
    e.fetched = now();
    e.text = resp->body;
    e.policy = *p;
    std::string why = "policy fetched from https://mta-sts." + domain + "/.well-known/mta-sts.txt: id " + id +
                      ", mode " + sts_mode_name(p->mode) + ", max_age " + std::to_string(p->max_age) +
                      ", mx " + sts_mx_list(*p);
    store(domain, e);
    failed_.erase(domain);
    StsResult r;
    if (p->mode != StsMode::kNone) r.policy = *p;
    r.why = why;
    return answer(domain, std::move(r));
  }
  std::string what =
      "policy fetch from https://mta-sts." + domain + "/.well-known/mta-sts.txt failed: " + problem;
  Failed& f = failed_[domain];
  if (f.id != id) f = Failed{id, 0, 0, ""};
  ++f.count;
  std::int64_t delay = std::max<std::int64_t>(timeout_, 1);
  for (int i = 1; i < f.count && delay < kMaxRefetchDelay; ++i) delay *= 2;
  f.retry_at = now() + std::min(delay, kMaxRefetchDelay);
  f.why = problem;
  const StsCacheEntry* c = cached(domain);
  StsResult r = c ? from_cache(*c, what + "; using the ") : StsResult{};
  if (!c) r.why = what + "; no cached policy: delivering as if the domain had none (RFC 8461 5)";
  r.fetch_failed = true;
  answer(domain, std::move(r));
}

const StsCacheEntry* StsResolver::cached(const std::string& domain) {
  auto it = memory_.find(domain);
  if (it == memory_.end() && !dir_.empty()) {
    auto text = common::io::read_file(dir_ + "/" + domain, kStsMaxPolicy + 4096);
    if (text) {
      auto e = parse_sts_cache(*text);
      if (e)
        it = memory_.emplace(domain, std::move(*e)).first;
      else
        log::warn("mta-sts: %s: ignoring the cache file: %s", domain.c_str(), e.message().c_str());
    } else if (text.status().err() != ENOENT) {
      log::warn("mta-sts: %s: %s", domain.c_str(), text.message().c_str());
    }
  }
  if (it == memory_.end()) return nullptr;
  if (it->second.expires() <= now()) return nullptr;  // max_age is over
  return &it->second;
}

void StsResolver::store(const std::string& domain, StsCacheEntry e) {
  if (!dir_.empty()) {
    // Whole file under a temporary name, then renamed over the old one.
    std::string path = dir_ + "/" + domain;
    std::string tmp = path + ".tmp";
    common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    common::Status st =
        fd ? common::io::write_all(fd.get(), format_sts_cache(e)) : common::Status::sys("create " + tmp);
    if (st && ::rename(tmp.c_str(), path.c_str()) != 0) st = common::Status::sys("rename " + tmp);
    if (!st) {
      ::unlink(tmp.c_str());
      log::warn("mta-sts: %s: policy not cached on disk: %s", domain.c_str(), st.message().c_str());
    }
  }
  memory_[domain] = std::move(e);
}

void StsResolver::answer(const std::string& domain, StsResult r) {
  auto it = pending_.find(domain);
  if (it == pending_.end()) return;
  std::vector<Callback> waiting = std::move(it->second.waiting);
  if (it->second.fetch) {
    auto holder = std::make_shared<std::unique_ptr<HttpsFetch>>(std::move(it->second.fetch));
    common::io::run_soon(base_, [holder] { holder->reset(); });
  }
  pending_.erase(it);
  log::info("mta-sts: %s: %s", domain.c_str(), log::printable(r.why, 400).c_str());
  common::io::Guard alive = life_.guard();
  for (auto& cb : waiting) {
    cb(r);
    if (!alive) return;
  }
}

}  // namespace delivery::remote
