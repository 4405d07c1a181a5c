// libFuzzer target for the DSN parameter parsers (RFC 3461 4): the input is tried as
// xtext, NOTIFY, ORCPT, RET and ENVID. Checks: no crash; what parses survives a round
// trip through its canonical form; decoded text is printable ASCII.
// Seed corpus: tests/fuzz/corpus/dsn_fuzz/.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "common/mail/dsn.hpp"

using namespace common::mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto d = xtext_decode(in)) {
    for (char c : *d) MB_CHECK(c >= 0x20 && c <= 0x7e, "xtext decoded to a control or 8-bit byte");
    MB_CHECK(xtext_decode(xtext_encode(*d)) == *d, "xtext round trip");
  }
  if (auto n = parse_notify(in)) {
    MB_CHECK(*n != 0, "NOTIFY with no keyword");
    MB_CHECK(parse_notify(notify_text(*n)) == n, "NOTIFY round trip");
  }
  if (auto o = parse_orcpt(in)) {
    auto semi = o->find(';');
    MB_CHECK(semi != std::string::npos && semi > 0, "ORCPT without its type");
    std::string again = o->substr(0, semi + 1) + xtext_encode(o->substr(semi + 1));
    if (again.size() <= kMaxOrcpt) MB_CHECK(parse_orcpt(again) == o, "ORCPT round trip");
  }
  if (auto e = parse_envid(in)) MB_CHECK(e->size() <= kMaxEnvid, "ENVID too long");
  (void)parse_ret(in);
  return 0;
}
