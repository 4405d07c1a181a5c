// Blocking libunbound lookups for the checks process (see dns.hpp).
#include "smtpd/checks/dns.hpp"

#include <arpa/inet.h>
#include <unbound.h>

#include "common/dns/resolver.hpp"

namespace checks {

common::Result<std::unique_ptr<Dns>> Dns::create(const std::string& forwarder) {
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return common::Status::error("ub_ctx_create failed");
  common::Status st = common::dns::configure_context(ctx, forwarder, false);
  if (!st) {
    ub_ctx_delete(ctx);
    return st;
  }
  return std::unique_ptr<Dns>(new Dns(ctx));
}

Dns::~Dns() { ub_ctx_delete(ctx_); }

DnsAnswer Dns::query(const std::string& name, int type) {
  DnsAnswer a;
  ub_result* r = nullptr;
  int err = ub_resolve(ctx_, name.c_str(), type, 1 /* IN */, &r);
  if (err != 0 || !r) {
    if (r) ub_resolve_free(r);
    return a;  // kTempFail
  }
  if (r->rcode == 3 /* NXDOMAIN */) {
    a.rcode = DnsAnswer::Rcode::kNxDomain;
  } else if (r->rcode != 0 || r->bogus) {
    a.rcode = DnsAnswer::Rcode::kTempFail;  // SERVFAIL and the like (RFC 7208 5: temperror)
  } else if (!r->havedata) {
    a.rcode = DnsAnswer::Rcode::kNoData;
  } else {
    a.rcode = DnsAnswer::Rcode::kOk;
    for (int i = 0; r->data[i] && i < 1000; ++i)
      a.rdata.emplace_back(r->data[i], static_cast<std::size_t>(r->len[i]));
    a.ttl = r->ttl;
  }
  ub_resolve_free(r);
  return a;
}

std::string txt_string(const std::string& rdata) {
  std::string out;
  std::size_t i = 0;
  while (i < rdata.size()) {
    std::size_t n = static_cast<unsigned char>(rdata[i++]);
    if (n > rdata.size() - i) n = rdata.size() - i;
    out.append(rdata, i, n);
    i += n;
  }
  return out;
}

std::string wire_name(const std::string& rdata, std::size_t pos) {
  std::string out;
  while (pos < rdata.size()) {
    std::size_t n = static_cast<unsigned char>(rdata[pos++]);
    if (n == 0) return out.empty() ? "." : out;
    if (n > 63 || n > rdata.size() - pos) return "";
    if (!out.empty()) out += '.';
    out.append(rdata, pos, n);
    pos += n;
    if (out.size() > 255) return "";
  }
  return "";
}

std::string a_string(const std::string& rdata) {
  if (rdata.size() != 4) return "";
  char buf[INET_ADDRSTRLEN];
  if (!inet_ntop(AF_INET, rdata.data(), buf, sizeof buf)) return "";
  return buf;
}

}  // namespace checks
