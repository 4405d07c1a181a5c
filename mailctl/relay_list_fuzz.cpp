// libFuzzer target for the relay recipient list parser (mailctl relay-recipient import):
// any bytes give a list or an error; every key it returns is a lower-case lookup key
// (Address::key, as smtpd looks it up) of the domain, on one line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/check.hpp"
#include "common/mail/ascii.hpp"
#include "mailctl/relay_list.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = mailctl::parse_relay_list(in, "primary.test");
  if (!r) return 0;
  for (std::size_t i = 0; i < r->size(); ++i) {
    const std::string& k = (*r)[i];
    MB_CHECK(k.size() > 13 && k.compare(k.size() - 13, 13, "@primary.test") == 0, "key outside its domain");
    MB_CHECK(i == 0 || (*r)[i - 1] < k, "keys not sorted and unique");
    MB_CHECK(k == common::mail::lower(k), "key not lower-case");
    MB_CHECK(k.find_first_of("\r\n") == std::string::npos, "line break in a key");
  }
  return 0;
}
