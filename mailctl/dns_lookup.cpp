// Implementation of check-dns's DNS access (see dns_lookup.hpp). Lookups run in
// libunbound's thread (ub_resolve_async); we wait on its descriptor with poll() so that
// each lookup has a hard time limit, which ub_resolve() lacks. Names are decoded by
// ldns, never by hand.
#include "mailctl/dns_lookup.hpp"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <unbound.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "common/dns/resolver.hpp"
#include "common/mail/ascii.hpp"

namespace mailctl {

using common::Result;
using common::Status;
using common::dns::Lookup;

namespace {

struct Pending {
  bool done = false;
  int err = 0;
  ub_result* result = nullptr;
};

void on_result(void* arg, int err, ub_result* result) {
  auto* p = static_cast<Pending*>(arg);
  p->done = true;
  p->err = err;
  p->result = result;
}

std::string lower_no_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return common::mail::lower(s);
}

}  // namespace

Result<std::unique_ptr<DnsClient>> DnsClient::create(const std::string& forwarder, int timeout_seconds,
                                                     const std::string& trust_anchor) {
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return Status::error("ub_ctx_create failed");
  std::unique_ptr<DnsClient> c(new DnsClient(ctx, timeout_seconds));
  MB_TRY(common::dns::configure_context(ctx, forwarder, true, trust_anchor));
  // libunbound answers reverse lookups of 127/8 itself (RFC 6303); a configured
  // resolver is asked about them too, as about everything else (test zones live there).
  if (!forwarder.empty()) ub_ctx_zone_remove(ctx, "127.in-addr.arpa.");
  return c;
}

DnsClient::~DnsClient() { ub_ctx_delete(ctx_); }

DnsAnswer DnsClient::query(const std::string& name, int type) {
  DnsAnswer a;
  Pending p;
  int id = 0;
  int err = ub_resolve_async(ctx_, name.c_str(), type, 1, &p, on_result, &id);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds_);
  while (err == 0 && !p.done) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (ub_cancel(ctx_, id) == 0) {
        a.status = Lookup::kTempFail;
        a.error = "no answer within " + std::to_string(timeout_seconds_) + " seconds";
        return a;
      }
      err = ub_wait(ctx_);  // the answer is already on its way: take it
      break;
    }
    pollfd pfd{ub_fd(ctx_), POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) break;
    if (r > 0) err = ub_process(ctx_);
  }
  if (err != 0 || !p.done) {
    a.status = Lookup::kTempFail;
    a.error = std::string("lookup failed: ") + (err != 0 ? ub_strerror(err) : "poll error");
    if (p.result) ub_resolve_free(p.result);
    return a;
  }
  std::unique_ptr<ub_result, void (*)(ub_result*)> r(p.result, ub_resolve_free);
  if (p.err != 0 || !r) {
    a.status = Lookup::kTempFail;
    a.error = std::string("lookup failed: ") + ub_strerror(p.err);
    return a;
  }
  a.status = common::dns::classify(r->rcode, r->havedata != 0, r->nxdomain != 0);
  if (a.status == Lookup::kTempFail) a.error = "server failure (rcode " + std::to_string(r->rcode) + ")";
  a.security = common::dns::security_of(r->secure != 0, r->bogus != 0);
  if (a.security == common::dns::Security::kBogus) {
    // As in the daemons' resolver: data that fails validation is not data.
    a.status = Lookup::kTempFail;
    a.error = std::string("DNSSEC validation failed (bogus)") +
              (r->why_bogus ? ": " + std::string(r->why_bogus) : "");
    return a;
  }
  if (r->canonname && lower_no_dot(r->canonname) != lower_no_dot(name))
    a.canonname = lower_no_dot(r->canonname);
  for (int i = 0; r->havedata && r->data && r->data[i] && i < 1000; ++i)
    a.rdata.emplace_back(r->data[i], static_cast<std::size_t>(r->len[i]));
  return a;
}

std::string canonical_ip(const std::string& ip) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof out) ? out : "";
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return inet_ntop(AF_INET6, buf, out, sizeof out) ? out : "";
  return "";
}

bool is_ipv6(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

std::string reverse_name(const std::string& ip) {
  unsigned char b[16];
  std::string out;
  char part[8];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    for (int i = 3; i >= 0; --i) {
      std::snprintf(part, sizeof part, "%u.", b[i]);
      out += part;
    }
    return out + "in-addr.arpa";
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    static const char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out += kHex[b[i] & 0xf];
      out += '.';
      out += kHex[b[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return "";
}

Result<std::string> decode_name(std::string_view rdata) {
  ldns_rdf* raw = nullptr;
  std::size_t pos = 0;
  const auto* data = reinterpret_cast<const std::uint8_t*>(rdata.data());
  if (rdata.empty() || ldns_wire2dname(&raw, data, rdata.size(), &pos) != LDNS_STATUS_OK || !raw)
    return Status::error("not a valid domain name");
  std::unique_ptr<ldns_rdf, void (*)(ldns_rdf*)> name(raw, ldns_rdf_deep_free);
  if (pos != rdata.size()) return Status::error("trailing bytes after the name");
  std::unique_ptr<char, void (*)(void*)> text(ldns_rdf2str(name.get()), free);
  if (!text) return Status::error("cannot print the name");
  return lower_no_dot(text.get());
}

Result<std::string> decode_txt(std::string_view rdata) {
  // RFC 1035 3.3.14: one or more <character-string>s, each a length octet and that many
  // octets.
  if (rdata.empty()) return Status::error("empty TXT record");
  std::string out;
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    std::size_t n = static_cast<unsigned char>(rdata[pos++]);
    if (n > rdata.size() - pos) return Status::error("TXT string runs past the record");
    out.append(rdata.substr(pos, n));
    pos += n;
  }
  return out;
}

}  // namespace mailctl
