// Tests of mailbag-checkpassword's input, name and answer rules.
#include "pop3d/checkpassword/checkpassword.hpp"

#include <doctest/doctest.h>

using namespace std::string_literals;

TEST_CASE("parse_input: login NUL password NUL, an optional time stamp after") {
  auto c = imap::parse_input("demo@example.test\0s3cret\0"s);
  REQUIRE(c.is_ok());
  CHECK(c->login == "demo@example.test");
  CHECK(c->password == "s3cret");
  auto t = imap::parse_input("demo\0pw with spaces\0001234\0"s);
  REQUIRE(t.is_ok());
  CHECK(t->password == "pw with spaces");
  CHECK_FALSE(imap::parse_input("").is_ok());
  CHECK_FALSE(imap::parse_input("demo").is_ok());
  CHECK_FALSE(imap::parse_input("demo\0pw"s).is_ok());  // password not terminated
  CHECK_FALSE(imap::parse_input("\0pw\0"s).is_ok());    // empty login
  CHECK_FALSE(imap::parse_input("demo\0\0"s).is_ok());  // empty password
  CHECK_FALSE(imap::parse_input(std::string(513, 'a')).is_ok());
  std::string max = std::string(255, 'a') + '\0' + std::string(255, 'p') + '\0';
  CHECK(imap::parse_input(max).is_ok());
}

TEST_CASE("safe_login: Dovecot's user name characters only") {
  CHECK(imap::safe_login("demo@example.test"));
  CHECK(imap::safe_login("first.last+tag@xn--bcher-kva.test"));
  CHECK(imap::safe_login("demo"));
  for (const char* bad :
       {"", "de%mo@example.test", "%u", "a/b@example.test", "../x@example.test/..x", "demo*@example.test",
        "de mo@example.test", "demo\t@example.test", "demo\n@example.test", "demo\"@example.test",
        "demo\\@example.test", "d\xc3\xa9mo@example.test", "demo,x@example.test", "demo:x"})
    CHECK_MESSAGE(!imap::safe_login(bad), bad);
  CHECK_FALSE(imap::safe_login(std::string(256, 'a')));
  CHECK(imap::safe_login(std::string(255, 'a')));
}

TEST_CASE("exit_for: ok executes the reply, bad credentials 1, anything else 111") {
  CHECK(imap::exit_for(common::ipc::AuthResult::kOk) == 0);
  CHECK(imap::exit_for(common::ipc::AuthResult::kBadCredentials) == imap::kExitFailed);
  CHECK(imap::exit_for(common::ipc::AuthResult::kTempFail) == imap::kExitTempFail);
}
