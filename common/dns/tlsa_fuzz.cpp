// libFuzzer target for the TLSA RDATA reader (common/dns/tlsa.hpp): records a stranger's
// name server chose. No crash; a decoded record round-trips its fixed fields and data.
// Seeds: tests/fuzz/corpus/tlsa_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/dns/tlsa.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = common::dns::decode_tlsa(data, size);
  if (r) {
    if (r->data.size() + 3 != size || r->data.empty()) std::abort();
    if (r->usage != data[0] || r->selector != data[1] || r->mtype != data[2]) std::abort();
    if (common::dns::tlsa_text(*r).size() < 2 * r->data.size()) std::abort();
    (void)common::dns::usable_for_smtp(*r);
  }
  common::dns::TlsaAnswer a;
  a.status = common::dns::Lookup::kOk;
  common::dns::add_tlsa_rdatas(&a, {std::string_view(reinterpret_cast<const char*>(data), size)});
  if (a.records.size() + a.malformed != 1) std::abort();
  return 0;
}
