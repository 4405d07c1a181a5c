// Implementation of the pure DNS answer helpers (see records.hpp). UNTRUSTED: RDATA
// comes from the network; names are decoded by ldns and then checked for LDH syntax.
#include "common/dns/records.hpp"

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <memory>

#include "common/mail/ascii.hpp"

namespace common::dns {
namespace {

struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct CharFree {
  void operator()(char* p) const { free(p); }
};

constexpr int kRcodeNxdomain = 3;

}  // namespace

const char* lookup_name(Lookup s) {
  switch (s) {
    case Lookup::kOk: return "ok";
    case Lookup::kNoData: return "no data";
    case Lookup::kNxDomain: return "domain not found";
    case Lookup::kTempFail: return "temporary failure";
  }
  return "?";
}

const char* security_name(Security s) {
  switch (s) {
    case Security::kInsecure: return "insecure";
    case Security::kSecure: return "secure";
    case Security::kBogus: return "bogus";
  }
  return "?";
}

Security security_of(bool secure, bool bogus) {
  if (bogus) return Security::kBogus;
  return secure ? Security::kSecure : Security::kInsecure;
}

Result<MxHost> decode_mx(const std::uint8_t* rdata, std::size_t len) {
  if (len < 3) return common::Status::error("MX record too short");
  MxHost mx;
  mx.preference = ldns_read_uint16(rdata);
  ldns_rdf* raw = nullptr;
  std::size_t pos = 2;
  if (ldns_wire2dname(&raw, rdata, len, &pos) != LDNS_STATUS_OK || !raw)
    return common::Status::error("MX exchange is not a valid domain name");
  std::unique_ptr<ldns_rdf, RdfFree> name(raw);
  if (pos != len) return common::Status::error("trailing bytes after the MX exchange");
  std::unique_ptr<char, CharFree> text(ldns_rdf2str(name.get()));
  if (!text) return common::Status::error("cannot print MX exchange");
  std::string host(text.get());
  if (!host.empty() && host.back() == '.') host.pop_back();
  mx.host = common::mail::lower(host);
  return mx;
}

bool is_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char c : name) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '-') return false;
      if (c == '-' && label == 0) return false;
      if (++label > 63) return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

void sort_mx(std::vector<MxHost>* hosts, std::mt19937& rng) {
  std::shuffle(hosts->begin(), hosts->end(), rng);
  std::stable_sort(hosts->begin(), hosts->end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
}

MxAnswer make_mx_answer(const std::vector<std::string_view>& rdatas, std::mt19937& rng) {
  MxAnswer a;
  std::vector<MxHost> hosts;
  std::size_t dots = 0;
  for (auto rd : rdatas) {
    auto mx = decode_mx(reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size());
    if (!mx) continue;
    if (mx->host.empty()) {
      ++dots;
      continue;
    }
    if (!is_host_name(mx->host)) continue;
    hosts.push_back(std::move(*mx));
  }
  // RFC 7505 3: the null MX is the only MX record of its domain.
  if (dots > 0 && hosts.empty() && rdatas.size() == 1) {
    a.null_mx = true;
    return a;
  }
  if (hosts.empty()) {
    // Records exist but none is usable: there is nowhere to deliver.
    a.status = Lookup::kNoData;
    a.error = "no usable MX host names";
    return a;
  }
  sort_mx(&hosts, rng);
  a.hosts = std::move(hosts);
  return a;
}

std::vector<std::string> decode_addresses(const std::vector<std::string_view>& rdatas, bool v6) {
  std::vector<std::string> out;
  for (auto rd : rdatas) {
    if (rd.size() != (v6 ? 16u : 4u)) continue;
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, rd.data(), buf, sizeof buf)) continue;
    out.emplace_back(buf);
  }
  return out;
}

Lookup classify(int rcode, bool havedata, bool nxdomain) {
  if (nxdomain || rcode == kRcodeNxdomain) return Lookup::kNxDomain;
  if (rcode != 0) return Lookup::kTempFail;  // SERVFAIL, REFUSED, ...: not the domain's final word
  return havedata ? Lookup::kOk : Lookup::kNoData;
}

Result<std::string> forwarder_spec(std::string_view v) {
  std::string host;
  std::string port;
  if (!v.empty() && v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos) return common::Status::error("missing ']'");
    host = std::string(v.substr(1, close - 1));
    std::string_view rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return common::Status::error("expected ':' after ']'");
      port = std::string(rest.substr(1));
    }
  } else if (std::count(v.begin(), v.end(), ':') == 1) {
    auto colon = v.find(':');
    host = std::string(v.substr(0, colon));
    port = std::string(v.substr(colon + 1));
  } else {
    host = std::string(v);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1)
    return common::Status::error("not an IP address: " + host);
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      return common::Status::error("bad port: " + port);
    int p = std::stoi(port);
    if (p < 1 || p > 65535) return common::Status::error("port out of range: " + port);
    return host + "@" + port;
  }
  return host;
}

std::vector<std::string> decode_txts(const std::vector<std::string_view>& rdatas) {
  std::vector<std::string> out;
  for (auto rd : rdatas) {
    // One or more <character-string>s, each a length octet and that many octets.
    if (rd.empty()) continue;
    std::string text;
    std::size_t pos = 0;
    bool ok = true;
    while (pos < rd.size()) {
      std::size_t n = static_cast<unsigned char>(rd[pos++]);
      if (n > rd.size() - pos) {
        ok = false;
        break;
      }
      text.append(rd.substr(pos, n));
      pos += n;
    }
    if (ok) out.push_back(std::move(text));
  }
  return out;
}

}  // namespace common::dns
