// libFuzzer target for the relayhost credentials file (relayhost_auth_file, read by
// remote(8) as root before it drops privileges): any bytes parse or fail cleanly, and
// what parses obeys the format's rules (no blanks or control characters, at most 255
// bytes each).
#include <cstdint>
#include <string_view>

#include "common/check.hpp"
#include "delivery/remote/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = delivery::remote::parse_credentials(in);
  if (!c) return 0;
  for (const std::string* s : {&c->user, &c->password}) {
    MB_CHECK(!s->empty() && s->size() <= 255, "credential length out of bounds");
    for (unsigned char ch : *s) MB_CHECK(ch > 0x20 && ch != 0x7f, "blank or control character kept");
  }
  return 0;
}
