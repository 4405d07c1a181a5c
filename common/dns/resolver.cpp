// Implementation of the libunbound wrapper (see resolver.hpp). Each query is a heap
// object that lives until its answer, its timeout, or the Resolver's end, whichever
// comes first; libunbound's callback and our timer both find it through its pointer.
#include "common/dns/resolver.hpp"

#include <arpa/inet.h>
#include <unbound.h>

#include <set>

#include "common/log/log.hpp"

namespace common::dns {
namespace {

constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeAaaa = 28;
constexpr int kTypeTlsa = 52;
constexpr int kTypeTxt = 16;
constexpr int kClassIn = 1;
constexpr int kErrTimeout = -10000;  // our own "error code" for a lookup that took too long

std::vector<std::string_view> rdatas(const ub_result* r) {
  std::vector<std::string_view> out;
  if (!r || !r->data) return out;
  for (int i = 0; r->data[i] && i < 1000; ++i)
    out.emplace_back(r->data[i], static_cast<std::size_t>(r->len[i]));
  return out;
}

std::string err_text(int err) {
  if (err == kErrTimeout) return "DNS lookup timed out";
  return std::string("DNS lookup failed: ") + ub_strerror(err);
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_loopback(const std::string& spec) { return spec.rfind("127.", 0) == 0 || spec.rfind("::1", 0) == 0; }

}  // namespace

namespace {
// The security of a finished lookup; a bogus one becomes a temporary failure (RFC 4035
// 5.5: bogus data is not to be used), with libunbound's reason.
Security apply_security(const ub_result* r, Lookup* status, std::string* error, const std::string& what) {
  Security s = security_of(r->secure != 0, r->bogus != 0);
  if (s == Security::kBogus) {
    *status = Lookup::kTempFail;
    *error = "DNSSEC validation failed (bogus) for " + what +
             (r->why_bogus ? std::string(": ") + r->why_bogus : "");
  }
  return s;
}
}  // namespace

// Applies the resolver choice to a fresh context.
Status configure_context(ub_ctx* ctx, const std::string& forwarder, bool async,
                         const std::string& trust_anchor) {
  int err;
  if (!trust_anchor.empty()) {
    // RFC 4035 5: validation starts from this key (the root's, or a test zone's).
    err = ub_ctx_add_ta_file(ctx, trust_anchor.c_str());
    if (err != 0) return Status::error("dns_trust_anchor " + trust_anchor + ": " + ub_strerror(err));
  }
  if (forwarder.empty()) {
    err = ub_ctx_resolvconf(ctx, nullptr);
    if (err != 0) return Status::error(std::string("reading /etc/resolv.conf: ") + ub_strerror(err));
    if (async) {
      err = ub_ctx_async(ctx, 1);  // a thread, not a forked process, does the lookups
      if (err != 0) return Status::error(std::string("ub_ctx_async: ") + ub_strerror(err));
    }
    return Status::ok();
  }
  auto spec = forwarder_spec(forwarder);
  if (!spec) return Status::error("dns_resolver: " + spec.message());
  // libunbound refuses to query 127/8 and ::1 unless told otherwise; a local resolver
  // (tests, or a local caching unbound) is a normal choice.
  if (is_loopback(*spec)) ub_ctx_set_option(ctx, "do-not-query-localhost:", "no");
  err = ub_ctx_set_fwd(ctx, spec->c_str());
  if (err != 0) return Status::error("dns_resolver " + forwarder + ": " + ub_strerror(err));
  if (async) {
    err = ub_ctx_async(ctx, 1);  // a thread, not a forked process, does the lookups
    if (err != 0) return Status::error(std::string("ub_ctx_async: ") + ub_strerror(err));
  }
  // A configured resolver is asked about everything, including the RFC 6761 "test."
  // names libunbound would otherwise answer itself (NXDOMAIN): test zones live there.
  // (This finalizes the context, so it comes last.)
  ub_ctx_zone_remove(ctx, "test.");
  return Status::ok();
}

struct Resolver::Query {
  Resolver* owner = nullptr;
  int async_id = 0;
  io::EventPtr timer;
  std::function<void(int, ub_result*)> done;
};

namespace {
// Queries in flight, per resolver (for cleanup when the Resolver goes first).
std::set<void*>& live_queries() {
  static std::set<void*> s;
  return s;
}
}  // namespace

Resolver::Resolver(event_base* base, ub_ctx* ctx, bool validating)
    : base_(base), ctx_(ctx), validating_(validating), rng_(std::random_device{}()) {}

Result<std::unique_ptr<Resolver>> Resolver::create(event_base* base, const std::string& forwarder,
                                                   const std::string& trust_anchor) {
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return Status::error("ub_ctx_create failed");
  Status st = configure_context(ctx, forwarder, true, trust_anchor);
  if (!st) {
    ub_ctx_delete(ctx);
    return st;
  }
  std::unique_ptr<Resolver> r(new Resolver(base, ctx, !trust_anchor.empty()));
  r->fd_event_.reset(event_new(base, ub_fd(ctx), EV_READ | EV_PERSIST, on_fd_cb, r.get()));
  if (!r->fd_event_ || event_add(r->fd_event_.get(), nullptr) != 0)
    return Status::error("cannot watch the resolver's descriptor");
  return r;
}

Resolver::~Resolver() {
  life_.end();
  fd_event_.reset();
  ub_ctx_delete(ctx_);  // no callback runs after this
  auto& live = live_queries();
  for (auto it = live.begin(); it != live.end();) {
    auto* q = static_cast<Query*>(*it);
    if (q->owner == this) {
      delete q;
      it = live.erase(it);
    } else {
      ++it;
    }
  }
}

void Resolver::on_fd_cb(evutil_socket_t, short, void* self) noexcept {
  auto* r = static_cast<Resolver*>(self);
  int err = ub_process(r->ctx_);
  if (err != 0) log::warn("resolver: ub_process: %s", ub_strerror(err));
}

void Resolver::on_result_cb(void* arg, int err, ub_result* result) noexcept {
  auto* q = static_cast<Query*>(arg);
  live_queries().erase(q);
  q->timer.reset();
  --q->owner->pending_;
  q->done(err, result);
  if (result) ub_resolve_free(result);
  delete q;
}

void Resolver::on_timeout_cb(evutil_socket_t, short, void* arg) noexcept {
  auto* q = static_cast<Query*>(arg);
  // If the answer raced in on the lookup thread, ub_cancel fails and the callback will
  // still come: then let it win.
  if (ub_cancel(q->owner->ctx_, q->async_id) != 0) return;
  live_queries().erase(q);
  --q->owner->pending_;
  q->done(kErrTimeout, nullptr);
  delete q;
}

void Resolver::start(const std::string& name, int type, std::function<void(int, ub_result*)> done) {
  auto* q = new Query;
  q->owner = this;
  q->done = std::move(done);
  int err = ub_resolve_async(ctx_, name.c_str(), type, kClassIn, q, on_result_cb, &q->async_id);
  if (err != 0) {
    // Report asynchronously, like every other answer.
    common::io::Guard alive = life_.guard();
    auto fn = std::move(q->done);
    delete q;
    io::run_soon(base_, [alive, fn, err] {
      if (alive) fn(err, nullptr);
    });
    return;
  }
  q->timer.reset(evtimer_new(base_, on_timeout_cb, q));
  timeval tv{kLookupTimeoutSeconds, 0};
  evtimer_add(q->timer.get(), &tv);
  live_queries().insert(q);
  ++pending_;
}

void Resolver::lookup_mx(const std::string& domain, MxCallback cb) {
  start(domain, kTypeMx, [this, domain, cb = std::move(cb)](int err, ub_result* r) {
    MxAnswer a;
    if (err != 0 || !r) {
      a.status = Lookup::kTempFail;
      a.error = err_text(err);
    } else {
      a.status = classify(r->rcode, r->havedata != 0, r->nxdomain != 0);
      Security sec = apply_security(r, &a.status, &a.error, domain + " MX");
      if (a.status == Lookup::kOk) {
        a = make_mx_answer(rdatas(r), rng_);
      } else if (a.status == Lookup::kTempFail && a.error.empty()) {
        a.error = "DNS server failure (rcode " + std::to_string(r->rcode) + ") for " + domain + " MX";
      }
      a.security = sec;
    }
    cb(std::move(a));
  });
}

void Resolver::lookup_addr(const std::string& host, bool v6, AddrCallback cb) {
  start(host, v6 ? kTypeAaaa : kTypeA, [host, v6, cb = std::move(cb)](int err, ub_result* r) {
    AddrAnswer a;
    if (err != 0 || !r) {
      a.status = Lookup::kTempFail;
      a.error = err_text(err);
    } else {
      a.status = classify(r->rcode, r->havedata != 0, r->nxdomain != 0);
      a.security = apply_security(r, &a.status, &a.error, host + (v6 ? " AAAA" : " A"));
      if (a.status == Lookup::kOk) {
        a.addrs = decode_addresses(rdatas(r), v6);
        if (a.addrs.empty()) a.status = Lookup::kNoData;
      } else if (a.status == Lookup::kTempFail && a.error.empty()) {
        a.error =
            "DNS server failure (rcode " + std::to_string(r->rcode) + ") for " + host + (v6 ? " AAAA" : " A");
      }
    }
    cb(std::move(a));
  });
}

void Resolver::lookup_tlsa(const std::string& owner, TlsaCallback cb) {
  start(owner, kTypeTlsa, [owner, cb = std::move(cb)](int err, ub_result* r) {
    TlsaAnswer a;
    if (err != 0 || !r) {
      a.status = Lookup::kTempFail;
      a.error = err_text(err);
    } else {
      a.status = classify(r->rcode, r->havedata != 0, r->nxdomain != 0);
      a.security = apply_security(r, &a.status, &a.error, owner + " TLSA");
      if (a.status == Lookup::kOk) {
        add_tlsa_rdatas(&a, rdatas(r));
      } else if (a.status == Lookup::kTempFail && a.error.empty()) {
        a.error = "DNS server failure (rcode " + std::to_string(r->rcode) + ") for " + owner + " TLSA";
      }
    }
    cb(std::move(a));
  });
}

void Resolver::lookup_txt(const std::string& name, TxtCallback cb) {
  start(name, kTypeTxt, [name, cb = std::move(cb)](int err, ub_result* r) {
    TxtAnswer a;
    if (err != 0 || !r) {
      a.status = Lookup::kTempFail;
      a.error = err_text(err);
    } else {
      a.status = classify(r->rcode, r->havedata != 0, r->nxdomain != 0);
      a.security = apply_security(r, &a.status, &a.error, name + " TXT");
      if (a.status == Lookup::kOk) {
        a.texts = decode_txts(rdatas(r));
      } else if (a.status == Lookup::kTempFail && a.error.empty()) {
        a.error = "DNS server failure (rcode " + std::to_string(r->rcode) + ") for " + name + " TXT";
      }
    }
    cb(std::move(a));
  });
}

Result<std::vector<std::string>> resolve_host_blocking(const std::string& forwarder,
                                                       const std::string& host) {
  if (is_ip(host)) return std::vector<std::string>{host};
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return Status::error("ub_ctx_create failed");
  std::unique_ptr<ub_ctx, void (*)(ub_ctx*)> guard(ctx, ub_ctx_delete);
  MB_TRY(configure_context(ctx, forwarder, false));
  std::vector<std::string> out;
  std::string why;
  bool nx = false;
  for (bool v6 : {false, true}) {
    ub_result* r = nullptr;
    int err = ub_resolve(ctx, host.c_str(), v6 ? kTypeAaaa : kTypeA, kClassIn, &r);
    if (err != 0) {
      why = err_text(err);
      continue;
    }
    Lookup st = classify(r->rcode, r->havedata != 0, r->nxdomain != 0);
    if (st == Lookup::kOk)
      for (auto& a : decode_addresses(rdatas(r), v6)) out.push_back(std::move(a));
    if (st == Lookup::kNxDomain) nx = true;
    if (st == Lookup::kTempFail) why = "temporary DNS failure";
    ub_resolve_free(r);
  }
  if (!out.empty()) return out;
  if (nx) return Status::error(host + ": host not found");
  return Status::error(host + ": " + (why.empty() ? "no address records" : why));
}

}  // namespace common::dns
