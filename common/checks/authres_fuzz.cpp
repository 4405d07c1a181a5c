// libFuzzer target for the removal of forged Authentication-Results headers
// (common/checks/authres.hpp): the input as a message, fed whole and in small pieces,
// must give the same output; nothing after the header section changes; claims_authserv_id
// on the input as a field value never crashes.
// Seeds: tests/fuzz/corpus/authres_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/checks/authres.hpp"

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)common::checks::claims_authserv_id(in, "mx.example.test");
  common::checks::AuthResStripper whole("mx.example.test"), pieces("mx.example.test");
  std::string a, b;
  whole.feed(in, &a);
  whole.finish(&a);
  for (std::size_t i = 0; i < in.size(); i += 3) pieces.feed(in.substr(i, 3), &b);
  pieces.finish(&b);
  require(a == b);
  require(whole.removed() == pieces.removed());
  require(a.size() <= in.size());
  std::size_t blank = in.find("\n\n");
  if (blank != std::string_view::npos && in.find("\r") == std::string_view::npos) {
    std::string_view body = in.substr(blank + 2);
    require(a.size() >= body.size() && a.compare(a.size() - body.size(), body.size(), body) == 0);
  }
  return 0;
}
