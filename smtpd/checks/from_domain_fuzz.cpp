// libFuzzer target for the From domain reader (smtpd/checks/from_domain.hpp), which reads
// the header section of every message DMARC checks: no crash, and a domain only with
// kOk, always lower case and a valid domain name.
// Seeds: tests/fuzz/corpus/from_domain_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"
#include "smtpd/checks/from_domain.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = checks::from_domain(checks::header_section(in, 64 * 1024));
  if (d.kind != checks::FromDomain::Kind::kOk && !d.domain.empty()) std::abort();
  if (d.kind == checks::FromDomain::Kind::kOk &&
      (!common::mail::is_domain(d.domain, true) || common::mail::lower(d.domain) != d.domain))
    std::abort();
  return 0;
}
