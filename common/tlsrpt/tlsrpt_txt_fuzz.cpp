// libFuzzer target for the TLSRPT policy record (RFC 8460 3), which comes from DNS:
// any bytes parse or fail cleanly; what parses holds at most kMaxRua URIs, and every
// mailto address is one the address parser accepts again; every https URI either fails
// to parse or gives a host, a port and a target that make a request of one line each.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "common/mail/address.hpp"
#include "common/tlsrpt/https.hpp"
#include "common/tlsrpt/txt.hpp"

using namespace common::tlsrpt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto r = parse_tlsrpt_txt({in});
  if (r) {
    MB_CHECK(r->mailto.size() + r->https.size() <= kMaxRua, "too many URIs kept");
    for (const auto& a : r->mailto)
      MB_CHECK(common::mail::parse_mailbox(a, false).is_ok(), "bad address kept");
    for (const auto& h : r->https) {
      MB_CHECK(h.rfind("https://", 0) == 0 || h.rfind("HTTPS", 0) == 0 || h.size() > 8, "not an https URI");
      auto t = parse_https_uri(h);
      if (!t) continue;
      MB_CHECK(!t->host.empty() && t->port >= 1 && t->port <= 65535 && t->target[0] == '/', "bad parts");
      std::string req = report_post_request(*t, "");
      MB_CHECK(req.find_first_of("\r\n") == req.find("\r\n"), "a request line broken by the URI");
      MB_CHECK(req.find("\r\n\r\n") + 4 == req.size(), "header lines broken by the URI");
    }
  }
  // Two records at once: at most one may be used.
  auto nl = in.find('\n');
  if (nl != std::string::npos) (void)parse_tlsrpt_txt({in.substr(0, nl), in.substr(nl + 1)});
  return 0;
}
