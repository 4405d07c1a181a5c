// libFuzzer target for the relay_domain_settings parser (common/config/relay_domain.hpp):
// each line an entry; a parsed entry has a domain, sane bounds and networks that parse.
// Seeds: tests/fuzz/corpus/relay_domain_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/relay_domain.hpp"
#include "common/net/cidr.hpp"

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> entries;
  std::size_t from = 0;
  while (from <= in.size()) {
    auto nl = in.find('\n', from);
    entries.emplace_back(in.substr(from, nl == std::string_view::npos ? std::string_view::npos : nl - from));
    if (nl == std::string_view::npos) break;
    from = nl + 1;
  }
  for (const auto& e : entries) {
    auto r = common::config::parse_relay_domain(e);
    if (!r) continue;
    require(!r->domain.empty());
    require(r->lifetime >= 0 && r->lifetime <= 100 * 86400);
    require(r->max_queued >= 0);
    require(r->has_release || r->release.empty());
    require(common::net::NetworkList::parse(r->release).is_ok());
  }
  auto all = common::config::parse_relay_domains(entries);
  if (all)
    for (const auto& r : *all) require(common::config::find_relay_domain(*all, r.domain) == &r);
  return 0;
}
