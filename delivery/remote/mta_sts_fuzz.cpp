// libFuzzer target for what MTA-STS reads from outside (RFC 8461): the `_mta-sts` TXT
// record, the HTTP answer and the policy in it, and the policy cache file in the spool.
// Any bytes parse or fail cleanly, and a parsed policy obeys the RFC's limits.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "delivery/remote/http_response.hpp"
#include "delivery/remote/mta_sts_policy.hpp"

using namespace delivery::remote;

namespace {
void check_policy(const StsPolicy& p) {
  MB_CHECK(p.max_age >= 0 && p.max_age <= kStsMaxAge, "max_age out of bounds");
  MB_CHECK(p.mx.size() <= kStsMaxMx, "too many mx patterns");
  MB_CHECK(p.mode == StsMode::kNone || !p.mx.empty(), "a policy that applies without mx");
  for (const auto& m : p.mx)
    MB_CHECK(sts_mx_matches(m, m) || m.rfind("*.", 0) == 0, "pattern does not match itself");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto id = parse_sts_txt({std::string(in)});
  if (id) MB_CHECK(!id->empty() && id->size() <= 32, "id length out of bounds");
  if (auto p = parse_sts_policy(in)) check_policy(*p);
  if (auto r = parse_http_response(in)) {
    MB_CHECK(r->status >= 0 && r->status <= 999, "status out of range");
    if (sts_response_problem(*r).empty())
      if (auto p = parse_sts_policy(r->body)) check_policy(*p);
  }
  if (auto c = parse_sts_cache(in)) {
    check_policy(c->policy);
    auto again = parse_sts_cache(format_sts_cache(*c));
    MB_CHECK(again.is_ok() && again->id == c->id && again->text == c->text,
             "cache entry does not round-trip");
  }
  return 0;
}
