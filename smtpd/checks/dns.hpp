// Blocking DNS for the checks process's worker threads: one libunbound context shared by
// all of them (ub_resolve is thread-safe; the cache is shared), set up like the rest of
// Mailbag's resolvers (common/dns: dns_resolver, a local forwarder allowed, "test."
// names asked too). libspf2 and libopendkim call their lookups synchronously, so they
// run on these threads, never on the event loop. UNTRUSTED: answers come from the network.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

struct ub_ctx;

namespace checks {

inline constexpr int kTypeA = 1;
inline constexpr int kTypePtr = 12;
inline constexpr int kTypeMx = 15;
inline constexpr int kTypeTxt = 16;
inline constexpr int kTypeAaaa = 28;

struct DnsAnswer {
  enum class Rcode { kOk, kNxDomain, kNoData, kTempFail };
  Rcode rcode = Rcode::kTempFail;
  std::vector<std::string> rdata;  // wire format of each record of the asked type
  int ttl = 0;
};

class Dns {
 public:
  static common::Result<std::unique_ptr<Dns>> create(const std::string& forwarder);
  ~Dns();
  Dns(const Dns&) = delete;
  Dns& operator=(const Dns&) = delete;

  DnsAnswer query(const std::string& name, int type);

 private:
  explicit Dns(ub_ctx* ctx) : ctx_(ctx) {}
  ub_ctx* ctx_;
};

// TXT rdata as one string (its character-strings joined, RFC 7208 3.3, RFC 6376 3.6.2.2).
std::string txt_string(const std::string& rdata);
// A domain name in uncompressed wire format at `pos` as dotted text ("" if malformed).
std::string wire_name(const std::string& rdata, std::size_t pos);
// A (4 bytes) rdata as a dotted quad ("" if not 4 bytes).
std::string a_string(const std::string& rdata);

}  // namespace checks
