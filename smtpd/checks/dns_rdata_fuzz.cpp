// libFuzzer target for the DNS rdata readers of the checks process (smtpd/checks/dns.hpp):
// TXT strings (SPF, DKIM keys, DMARC records), names (MX, PTR) and A records, all read
// from answers a stranger's name server chose. No crash; names are bounded.
// Seeds: tests/fuzz/corpus/dns_rdata_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "smtpd/checks/dns.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (checks::txt_string(in).size() > in.size()) std::abort();
  for (std::size_t pos : {std::size_t{0}, std::size_t{2}})
    if (checks::wire_name(in, pos).size() > 256) std::abort();
  (void)checks::a_string(in);
  return 0;
}
