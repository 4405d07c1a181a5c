// Unit tests for mail filter entries (spec.hpp): addresses, per-filter options, errors.
#include "common/milter/spec.hpp"

#include <doctest/doctest.h>

using namespace common::milter;

TEST_CASE("filter entries") {
  Timeouts t{5, 6, 7};
  auto u = parse_spec("unix:/run/rspamd/milter.sock", DefaultAction::kTempfail, t);
  REQUIRE(u.is_ok());
  CHECK(u->unix_socket);
  CHECK(u->path == "/run/rspamd/milter.sock");
  CHECK(u->timeouts.command == 6);
  auto i = parse_spec("inet:127.0.0.1:11332;default_action=accept;command_timeout=10s;content_timeout=2m",
                      DefaultAction::kTempfail, t);
  REQUIRE(i.is_ok());
  CHECK(i->host == "127.0.0.1");
  CHECK(i->port == 11332);
  CHECK(i->default_action == DefaultAction::kAccept);
  CHECK(i->timeouts.connect == 5);
  CHECK(i->timeouts.command == 10);
  CHECK(i->timeouts.content == 120);
  auto v6 = parse_spec("inet:[::1]:8891", DefaultAction::kAccept, t);
  REQUIRE(v6.is_ok());
  CHECK(v6->host == "::1");
  CHECK(v6->default_action == DefaultAction::kAccept);
  for (const char* bad : {"", "tcp:1.2.3.4:5", "unix:", "unix:relative", "inet:localhost:11332",
                          "inet:1.2.3.4", "inet:1.2.3.4:0", "inet:1.2.3.4:5;default_action=reject",
                          "inet:1.2.3.4:5;x=1", "inet:1.2.3.4:5;command_timeout",
                          "inet:1.2.3.4:5;command_timeout=0s", "inet:1.2.3.4:5;connect_timeout=2h"}) {
    INFO(bad);
    CHECK_FALSE(parse_spec(bad, DefaultAction::kTempfail, t).is_ok());
  }
}
