// Where a destination's mail goes: the list of endpoints (MX host, address, port) to try
// in order, or the reason there is none. The pure part decides (tested without DNS);
// RouteLookup gathers the DNS answers for it through the asynchronous resolver.
//   RFC 5321 5.1: MX records by preference; none: the domain's own address (implicit MX);
//   a server that finds itself among the MX hosts uses only those with a better (lower)
//   preference, and must not send to itself.
//   RFC 7505: a null MX means the domain accepts no mail: bounce at once.
//   RFC 7672 2.2: with DANE on, each host with secure addresses (of a secure MX RRset)
//   also gets a TLSA lookup, and each endpoint carries its DANE decision (dane.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns/records.hpp"
#include "common/io/lifetime.hpp"
#include "common/mail/outcome.hpp"
#include "common/smtp/next_hop.hpp"
#include "delivery/remote/dane.hpp"
#include "delivery/remote/mta_sts_policy.hpp"
#include "delivery/remote/settings.hpp"

namespace common::dns {
class Resolver;
}

namespace delivery::remote {

struct Endpoint {
  std::string host;  // the MX (or relay) host name; "" for an address literal
  std::string ip;
  std::uint16_t port = 25;
  DaneState dane = {};  // what DANE says for this host (kNone when it does not apply)
  // The recipient domain's MTA-STS mode for this host (route_sts.hpp); kTesting with
  // sts_listed false: the policy does not name it (used anyway, and reported).
  StsMode sts = StsMode::kNone;
  bool sts_listed = true;
  // "host[ip]:port" for logs and verdicts.
  std::string str() const;
};

struct Route {
  common::mail::Verdict failure;  // outcome kOk when endpoints is usable
  std::vector<Endpoint> endpoints;
  bool self_mx = false;  // we are one of the destination's MX hosts (no fallback relay then)
  bool ok() const { return failure.outcome == common::mail::Outcome::kOk; }
};

// What to look up for one destination.
struct Target {
  std::string name;  // domain or relay host (no brackets)
  std::uint16_t port = 25;
  bool mx_lookup = true;
  bool is_ip = false;  // name is an address: no lookup at all
  bool relay = false;  // the relayhost (for messages)
  bool dane = false;   // DANE applies (smtp_dane, a validating resolver, a host name)
};
// The recipient domain's target (an address literal "[192.0.2.1]" or "[IPv6:...]" goes
// to that address), or the relayhost's.
Target target_for_domain(const std::string& domain);
Target target_for_hop(const common::smtp::NextHop& hop);

// One MX host with its address answers (v4 and v6).
struct HostAddresses {
  common::dns::MxHost mx;
  common::dns::AddrAnswer v4;
  common::dns::AddrAnswer v6;
  // The MX answer's security (kSecure when there was no MX lookup), and the TLSA answer
  // for the host when one was looked up (RFC 7672 2.2).
  common::dns::Security mx_security = common::dns::Security::kSecure;
  std::optional<common::dns::TlsaAnswer> tlsa;
};

inline constexpr std::size_t kMaxMxHosts = 10;
inline constexpr std::size_t kMaxEndpoints = 10;

// The route from an MX answer, before address lookups: which hosts to resolve, or a
// final verdict (null MX, NXDOMAIN, temporary failure). For NODATA the domain itself is
// the only host (implicit MX).
struct MxPlan {
  common::mail::Verdict failure;
  std::vector<common::dns::MxHost> hosts;
  bool ok() const { return failure.outcome == common::mail::Outcome::kOk; }
};
MxPlan plan_from_mx(const Target& t, const common::dns::MxAnswer& mx);

// The endpoints from resolved hosts (in preference order): IPv4 before IPv6, duplicates
// dropped, and ourselves (plus every host of equal or worse preference) cut off. With
// t.dane, each endpoint gets its host's DANE decision.
Route route_from_hosts(const Target& t, const std::vector<HostAddresses>& hosts, const Self& self);

// Resolves a Target into a Route with the asynchronous resolver. Lives until it calls
// back (once); destroying it earlier cancels the callback.
class RouteLookup {
 public:
  using Callback = std::function<void(Route)>;
  RouteLookup(common::dns::Resolver& resolver, const Self& self, Target t, Callback cb);
  ~RouteLookup();
  void start();

 private:
  void on_mx(const common::dns::MxAnswer& a);
  void resolve_hosts(std::vector<common::dns::MxHost> hosts);
  void host_done();
  void lookup_tlsa();
  void tlsa_done();
  // Both answer the callback exactly once; it may destroy us, so nothing may follow.
  void fail(common::mail::Verdict v);
  void finish(Route r);

  common::dns::Resolver& resolver_;
  const Self& self_;
  Target target_;
  Callback cb_;
  std::vector<HostAddresses> hosts_;
  std::size_t outstanding_ = 0;
  common::dns::Security mx_security_ = common::dns::Security::kSecure;
  common::io::Lifetime life_;
};

}  // namespace delivery::remote
