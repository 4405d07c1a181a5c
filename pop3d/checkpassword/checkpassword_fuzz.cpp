// libFuzzer target for what mailbag-checkpassword reads on descriptor 3 (Dovecot passes
// an IMAP client's login and password there): parse_input and safe_login on arbitrary
// bytes. Seed corpus: tests/fuzz/corpus/checkpassword_fuzz/.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "pop3d/checkpassword/checkpassword.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = imap::parse_input(in);
  if (c) {
    MB_CHECK(!c->login.empty() && !c->password.empty(), "empty field accepted");
    MB_CHECK(c->login.find('\0') == std::string::npos && c->password.find('\0') == std::string::npos,
             "NUL inside a field");
    MB_CHECK(c->login.size() + c->password.size() + 2 <= in.size(), "fields longer than the input");
    if (imap::safe_login(c->login))
      MB_CHECK(c->login.find_first_of("%/*\t\n \\\"") == std::string::npos, "a special character passed");
  }
  (void)imap::safe_login(in);
  return 0;
}
