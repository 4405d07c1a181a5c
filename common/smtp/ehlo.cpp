// Implementation of the EHLO capability parser (see ehlo.hpp). UNTRUSTED input.
#include "common/smtp/ehlo.hpp"

#include <string_view>

#include "common/mail/ascii.hpp"

namespace common::smtp {
namespace {

using mail::upper;

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

}  // namespace

bool Capabilities::has_auth(std::string_view mech) const {
  for (const auto& m : auth)
    if (m == mech) return true;
  return false;
}

Capabilities parse_ehlo(const Reply& reply) {
  Capabilities caps;
  caps.esmtp = true;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    auto w = words(reply.lines[i]);
    if (w.empty()) continue;
    std::string kw = upper(w[0]);
    if (kw == "PIPELINING") {
      caps.pipelining = true;
    } else if (kw == "SIZE") {
      caps.size = true;
      caps.size_limit = 0;
      // RFC 1870 4: "SIZE" [SP number]; a malformed number means no limit we can use.
      if (w.size() >= 2 && w[1].size() <= 19) {
        std::uint64_t n = 0;
        bool ok = true;
        for (char c : w[1]) {
          if (c < '0' || c > '9') {
            ok = false;
            break;
          }
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (ok) caps.size_limit = n;
      }
    } else if (kw == "8BITMIME") {
      caps.eightbitmime = true;
    } else if (kw == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (kw == "STARTTLS") {
      caps.starttls = true;
    } else if (kw == "ETRN") {
      caps.etrn = true;
    } else if (kw == "ENHANCEDSTATUSCODES") {
      caps.enhancedstatuscodes = true;
    } else if (kw == "REQUIRETLS") {
      caps.requiretls = true;
    } else if (kw == "DSN") {
      caps.dsn = true;
    } else if (kw == "CHUNKING") {
      caps.chunking = true;
    } else if (kw == "AUTH") {
      for (std::size_t k = 1; k < w.size() && caps.auth.size() < 32; ++k) {
        std::string m = upper(w[k]);
        if (!caps.has_auth(m)) caps.auth.push_back(std::move(m));
      }
    }
  }
  return caps;
}

}  // namespace common::smtp
