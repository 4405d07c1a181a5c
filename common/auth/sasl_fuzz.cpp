// libFuzzer target for the SASL helpers: arbitrary bytes through the strict base64
// decoder (anything it accepts must re-encode to the same text) and through the PLAIN
// parser (both raw and after decoding). Seed corpus: tests/fuzz/corpus/sasl_fuzz/.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/auth/sasl.hpp"
#include "common/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = common::auth::sasl::decode_base64(in);
  if (d) {
    MB_CHECK(common::auth::sasl::encode_base64(*d) == in, "base64 round trip");
    MB_CHECK(d->size() <= in.size(), "decoded larger than encoded");
    auto c = common::auth::sasl::parse_plain(*d);
    if (c) MB_CHECK(!c->authcid.empty() && !c->password.empty(), "empty PLAIN field accepted");
  }
  auto c = common::auth::sasl::parse_plain(in);
  if (c) {
    MB_CHECK(c->authcid.find('\0') == std::string::npos, "NUL in authcid");
    MB_CHECK(c->password.find('\0') == std::string::npos, "NUL in password");
    (void)common::auth::sasl::authzid_allowed(c->authzid, c->authcid);
  }
  (void)common::auth::sasl::valid_login_name(in);
  return 0;
}
