// Asynchronous DNS for the event loop: a thin wrapper over libunbound (ub_resolve_async,
// its fd watched by libevent, ub_process), giving MX and address answers through
// callbacks. One Resolver per process; libunbound caches answers. The resolver is the
// system's (/etc/resolv.conf) unless the dns_resolver key names one (tests point it at
// a local unbound). Also a blocking address lookup for command-line tools.
// With a trust anchor (the dns_trust_anchor key) libunbound validates DNSSEC itself
// (RFC 4035 5) and every answer says whether it is secure, insecure or bogus; DANE
// (RFC 7672) decides on that. A bogus answer is a temporary failure, never data.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "common/dns/records.hpp"
#include "common/dns/tlsa.hpp"
#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/result.hpp"

struct ub_ctx;
struct ub_result;

namespace common::dns {

// How long one lookup may take before it counts as a temporary failure.
inline constexpr int kLookupTimeoutSeconds = 30;

class Resolver {
 public:
  using MxCallback = std::function<void(MxAnswer)>;
  using AddrCallback = std::function<void(AddrAnswer)>;
  using TlsaCallback = std::function<void(TlsaAnswer)>;
  using TxtCallback = std::function<void(TxtAnswer)>;

  // `forwarder`: "" for /etc/resolv.conf, else the dns_resolver value (ip[:port]).
  // `trust_anchor`: "" (no validation) or a file of DS/DNSKEY records in zone-file form.
  // Reads its files now (call before the privilege drop); the lookup thread starts
  // with the first query.
  static Result<std::unique_ptr<Resolver>> create(event_base* base, const std::string& forwarder,
                                                  const std::string& trust_anchor = "");
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The callback runs later, from the event loop, exactly once (also on timeout and on
  // error), unless the Resolver is destroyed first. Callers that may go away before the
  // answer must guard their callback themselves (e.g. with a weak_ptr).
  void lookup_mx(const std::string& domain, MxCallback cb);
  // A (v6 false) or AAAA (v6 true) records of `host`.
  void lookup_addr(const std::string& host, bool v6, AddrCallback cb);
  // TLSA records at `owner` (e.g. "_25._tcp.mx.example.com", RFC 6698 3).
  void lookup_tlsa(const std::string& owner, TlsaCallback cb);
  // TXT records at `name` (e.g. "_mta-sts.example.com", RFC 8461 3.1).
  void lookup_txt(const std::string& name, TxtCallback cb);
  bool validating() const { return validating_; }

  std::size_t pending() const { return pending_; }
  event_base* base() const { return base_; }

 private:
  struct Query;
  Resolver(event_base* base, ub_ctx* ctx, bool validating);
  void start(const std::string& name, int type, std::function<void(int, ub_result*)> done);
  static void on_fd_cb(evutil_socket_t, short, void* self) noexcept;
  static void on_result_cb(void* q, int err, ub_result* result) noexcept;
  static void on_timeout_cb(evutil_socket_t, short, void* q) noexcept;

  event_base* base_;
  ub_ctx* ctx_;
  io::EventPtr fd_event_;
  std::size_t pending_ = 0;
  bool validating_ = false;
  std::mt19937 rng_;
  common::io::Lifetime life_;
};

// Applies the resolver choice (see Resolver::create) to a fresh libunbound context;
// `async`: lookups run in a thread (ub_resolve_async). May finalize the context, so set
// other options before. For tools that make their own queries (mailctl check-dns).
// `trust_anchor` as for Resolver::create.
Status configure_context(ub_ctx* ctx, const std::string& forwarder, bool async,
                         const std::string& trust_anchor = "");

// Blocking A and AAAA lookup for tools (mailctl): IPv4 addresses first. An IP address
// is returned as it is. Uses the same resolver choice as the daemons.
Result<std::vector<std::string>> resolve_host_blocking(const std::string& forwarder, const std::string& host);

}  // namespace common::dns
