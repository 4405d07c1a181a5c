// Unit tests for the rdata readers of smtpd/checks/dns.hpp (TXT strings, names, A).
#include "smtpd/checks/dns.hpp"

#include <doctest/doctest.h>

using namespace checks;

TEST_CASE("TXT rdata: character-strings joined, lengths past the end cut") {
  CHECK(txt_string(std::string("\x05v=spf\x06"
                               "1 -all",
                               13)) == "v=spf1 -all");
  CHECK(txt_string(std::string("\x00", 1)).empty());
  CHECK(txt_string(std::string("\x09short", 6)) == "short");
  CHECK(txt_string("").empty());
}

TEST_CASE("names in wire format") {
  CHECK(wire_name(std::string("\x04mail\x07"
                              "example\x04test\x00",
                              19),
                  0) == "mail.example.test");
  CHECK(wire_name(std::string("\x00\x0a\x02mx\x00", 6), 2) == "mx");
  CHECK(wire_name(std::string("\x00", 1), 0) == ".");
  CHECK(wire_name(std::string("\x04mail", 5), 0).empty());  // no root label
  CHECK(wire_name(std::string("\xc0\x0c", 2), 0).empty());  // compression pointer
  CHECK(wire_name(std::string("\x09mail", 5), 0).empty());  // label past the end
}

TEST_CASE("A rdata") {
  CHECK(a_string(std::string("\x7f\x00\x00\x02", 4)) == "127.0.0.2");
  CHECK(a_string("abc").empty());
}
