// The MTA-STS policy of a recipient domain (RFC 8461), as the remote agent uses it: the
// `_mta-sts` TXT record through the agent's resolver, the policy from the cache when its
// id matches and it has not expired, else fetched over HTTPS (https_fetch.hpp) and
// cached on disk in spool/mta-sts/ (one file per domain, so it survives a restart).
// Lookups for the same domain at the same time share one fetch. The remote agent fetches
// (it holds no DKIM key: the signer is a separate process).
//   RFC 8461 3.1: no TXT record (and nothing cached): no policy.
//   RFC 8461 5: the TXT id differs from the cached policy's: fetch again; a failed fetch
//   (or a TXT lookup that fails) keeps using an unexpired cached policy, and without one
//   the mail goes as if the domain had no policy.
//   RFC 8461 3.2: max_age says how long a fetched policy may be used.
// A fetch for an id that failed is not tried again at once: while the TXT id differs
// from the cached one and fetching it keeps failing, the next try waits the fetch
// timeout, doubling after each failure up to an hour (RFC 8461 leaves the pace to the
// sender; a policy host that is down must not be asked once per queued message).
#pragma once

#include <event2/event.h>
#include <openssl/ssl.h>

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns/records.hpp"
#include "common/io/lifetime.hpp"
#include "delivery/remote/https_fetch.hpp"
#include "delivery/remote/mta_sts_policy.hpp"

namespace common::dns {
class Resolver;
}  // namespace common::dns

namespace delivery::remote {

// What a lookup found: a policy to apply (mode testing or enforce), or none, and a
// line saying why (for the log).
struct StsResult {
  std::optional<StsPolicy> policy;  // only for mode testing or enforce
  std::string why;
  bool fetch_failed = false;  // a fetch was needed and failed (RFC 8460 sts-policy-fetch-error)
};

class StsResolver {
 public:
  using Callback = std::function<void(const StsResult&)>;
  // `cache_dir`: spool/mta-sts ("" or unwritable: the cache is kept in memory only).
  // `verify_ctx`: the client context that verifies certificates (CA store).
  StsResolver(event_base* base, common::dns::Resolver& resolver, SSL_CTX* verify_ctx, std::string cache_dir,
              int timeout_seconds);
  ~StsResolver();
  // The callback runs later, from the loop, once (unless the StsResolver goes first).
  void lookup(const std::string& domain, Callback cb);

 private:
  struct Pending {
    std::vector<Callback> waiting;
    std::unique_ptr<HttpsFetch> fetch;
  };
  // The fetches of one id of a domain that failed in a row, and when to try next.
  struct Failed {
    std::string id;
    int count = 0;
    std::int64_t retry_at = 0;
    std::string why;
  };
  void on_txt(const std::string& domain, const common::dns::TxtAnswer& a);
  void on_fetched(const std::string& domain, const std::string& id, common::Result<std::string> raw);
  // The unexpired cached entry for `domain` (memory, else disk), or null.
  const StsCacheEntry* cached(const std::string& domain);
  void store(const std::string& domain, StsCacheEntry e);
  void answer(const std::string& domain, StsResult r);
  StsResult from_cache(const StsCacheEntry& e, const std::string& why) const;

  event_base* base_;
  common::dns::Resolver& resolver_;
  SSL_CTX* ctx_;
  std::string dir_;
  int timeout_;
  static constexpr std::int64_t kMaxRefetchDelay = 3600;
  std::map<std::string, StsCacheEntry> memory_;
  std::map<std::string, Pending> pending_;
  std::map<std::string, Failed> failed_;
  common::io::Lifetime life_;
};

}  // namespace delivery::remote
