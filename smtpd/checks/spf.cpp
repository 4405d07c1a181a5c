// SPF through libspf2 with our DNS layer (see spf.hpp).
#include "smtpd/checks/spf.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstdlib>
#include <cstring>

extern "C" {
#include <spf2/spf.h>
}

namespace checks {
namespace {

// libspf2's DNS layer interface: one lookup, answered as an SPF_dns_rr_t in the layout
// libspf2's own resolver layer builds (TXT joined to one string, names as text).
SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type type, int) {
  Dns* dns = static_cast<Dns*>(server->hook);
  // RFC 7208 3.1: the SPF RR type is gone; libspf2 asks for it first and falls back to
  // TXT on "no data".
  if (type == 99) return SPF_dns_rr_new_init(server, domain, type, 0, NO_DATA);
  DnsAnswer a = dns->query(domain, type);
  switch (a.rcode) {
    case DnsAnswer::Rcode::kNxDomain: return SPF_dns_rr_new_init(server, domain, type, 0, HOST_NOT_FOUND);
    case DnsAnswer::Rcode::kNoData: return SPF_dns_rr_new_init(server, domain, type, 0, NO_DATA);
    case DnsAnswer::Rcode::kTempFail: return SPF_dns_rr_new_init(server, domain, type, 0, TRY_AGAIN);
    case DnsAnswer::Rcode::kOk: break;
  }
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, a.ttl, NETDB_SUCCESS);
  if (!rr) return nullptr;
  int n = 0;
  for (const auto& d : a.rdata) {
    std::string text;
    std::size_t size = 0;
    if (type == ns_t_a) {
      if (d.size() != 4) continue;
      size = 4;
    } else if (type == ns_t_aaaa) {
      if (d.size() != 16) continue;
      size = 16;
    } else if (type == ns_t_txt) {
      text = txt_string(d);
      if (text.find('\0') != std::string::npos) continue;
      size = text.size() + 1;
    } else if (type == ns_t_mx) {
      text = d.size() > 2 ? wire_name(d, 2) : "";
      if (text.empty()) continue;
      size = text.size() + 1;
    } else if (type == ns_t_ptr) {
      text = wire_name(d, 0);
      if (text.empty()) continue;
      size = text.size() + 1;
    } else {
      continue;
    }
    if (SPF_dns_rr_buf_realloc(rr, n, size) != SPF_E_SUCCESS) break;
    if (type == ns_t_a || type == ns_t_aaaa) {
      std::memcpy(rr->rr[n], d.data(), size);
    } else {
      std::memcpy(rr->rr[n], text.c_str(), size);
    }
    ++n;
  }
  rr->num_rr = n;
  if (n == 0) rr->herrno = NO_DATA;
  return rr;
}

const char* result_name(SPF_result_t r) {
  switch (r) {
    case SPF_RESULT_PASS: return "pass";
    case SPF_RESULT_FAIL: return "fail";
    case SPF_RESULT_SOFTFAIL: return "softfail";
    case SPF_RESULT_NEUTRAL: return "neutral";
    case SPF_RESULT_NONE: return "none";
    case SPF_RESULT_TEMPERROR: return "temperror";
    default: break;
  }
  return "permerror";
}

void destroy(SPF_dns_server_t* server) { std::free(server); }

bool set_ip(SPF_request_t* req, const std::string& ip) {
  if (ip.find(':') != std::string::npos) return SPF_request_set_ipv6_str(req, ip.c_str()) == SPF_E_SUCCESS;
  return SPF_request_set_ipv4_str(req, ip.c_str()) == SPF_E_SUCCESS;
}

// Did the record fail to compile (permerror) rather than not exist (none)?
bool compile_error(SPF_response_t* resp) {
  for (int i = 0; i < SPF_response_messages(resp); ++i) {
    SPF_errcode_t c = SPF_error_code(SPF_response_message(resp, i));
    if (c != SPF_E_NOT_SPF && c != SPF_E_SUCCESS && c != SPF_E_DNS_ERROR) return true;
  }
  return false;
}

SpfResult evaluate(Dns& dns, const std::string& ip, const std::string& helo, const std::string& sender,
                   bool use_helo) {
  SpfResult out;
  SPF_dns_server_t* layer = static_cast<SPF_dns_server_t*>(std::calloc(1, sizeof(SPF_dns_server_t)));
  if (!layer) return {"temperror", "", "out of memory"};
  layer->destroy = destroy;
  layer->lookup = lookup;
  layer->name = "mailbag";
  layer->hook = &dns;
  SPF_server_t* server = SPF_server_new_dns(layer, 0);
  if (!server) {
    std::free(layer);
    return {"temperror", "", "out of memory"};
  }
  SPF_request_t* req = SPF_request_new(server);
  SPF_response_t* resp = nullptr;
  if (!req || !set_ip(req, ip) || SPF_request_set_helo_dom(req, helo.c_str()) != SPF_E_SUCCESS ||
      (!use_helo && SPF_request_set_env_from(req, sender.c_str()) != 0)) {
    out = {"permerror", use_helo ? helo : sender, "bad client address, HELO name or sender"};
  } else {
    // What SPF_request_query_mailfrom does after its loopback shortcut: pick the
    // identity's domain, fetch and compile the record, interpret it.
    req->use_helo = use_helo ? 1 : 0;
    req->cur_dom = use_helo ? req->helo_dom : req->env_from_dp;
    out.domain = req->cur_dom ? req->cur_dom : "";
    resp = SPF_response_new(req);
    SPF_record_t* record = nullptr;
    SPF_errcode_t err = resp ? SPF_server_get_record(server, req, resp, &record) : SPF_E_NO_MEMORY;
    if (err == SPF_E_SUCCESS && record) {
      resp->spf_record_exp = record;
      SPF_record_interpret(record, req, resp, 0);
      SPF_record_free(record);
      resp->spf_record_exp = nullptr;
      SPF_result_t r = SPF_response_result(resp);
      out.result = result_name(r);
      const char* c = SPF_response_get_smtp_comment(resp);
      out.comment = c ? c : "";
    } else if (err == SPF_E_DNS_ERROR) {
      out.result = "temperror";
      out.comment = "DNS failure looking up the SPF record of " + out.domain;
    } else if (resp && SPF_response_result(resp) == SPF_RESULT_PERMERROR) {
      out.result = "permerror";
      out.comment = "more than one SPF record for " + out.domain;
    } else if (resp && compile_error(resp)) {
      out.result = "permerror";
      out.comment = "bad SPF record for " + out.domain;
    } else {
      out.result = "none";
      out.comment = "no SPF record for " + out.domain;
    }
  }
  if (resp) SPF_response_free(resp);
  if (req) SPF_request_free(req);
  SPF_server_free(server);
  return out;
}

}  // namespace

SpfResult spf_mailfrom(Dns& dns, const std::string& ip, const std::string& helo, const std::string& sender) {
  std::string h = helo.empty() ? "unknown" : helo;
  return evaluate(dns, ip, h, sender, sender.empty());
}

SpfResult spf_helo(Dns& dns, const std::string& ip, const std::string& helo) {
  if (helo.empty() || helo.front() == '[') return {"none", helo, "HELO is an address literal"};
  return evaluate(dns, ip, helo, "", true);
}

}  // namespace checks
