// libFuzzer target for the TLS session day files in spool/tlsrpt (record.hpp), read back
// as untrusted: any bytes parse or are skipped cleanly, and a line that parses formats
// back into one that parses to the same session.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "common/tlsrpt/record.hpp"

using namespace common::tlsrpt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  DayCounts counts;
  (void)add_day_file(in, &counts);
  for (const auto& [domain, policies] : counts)
    for (const auto& [policy, c] : policies) {
      MB_CHECK(policy.domain == domain, "domain key mismatch");
      MB_CHECK(c.successes >= 0 && c.failures >= 0, "negative count");
    }
  auto s = parse_session(in.substr(0, in.find('\n')));
  if (s) {
    std::string line = format_session(*s);
    auto again = parse_session(std::string_view(line).substr(0, line.size() - 1));
    MB_CHECK(again.is_ok() && again->policy == s->policy && again->result == s->result &&
                 again->mx == s->mx && again->ip == s->ip && again->time == s->time,
             "session does not round-trip");
  }
  return 0;
}
