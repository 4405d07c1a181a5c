// One configured mail filter: where it listens and how long to wait for it. The text
// form is what the `milters` and `submission_milters` keys of mailbag.conf hold, one
// entry per filter, e.g.
//   unix:/run/rspamd/milter.sock
//   inet:127.0.0.1:11332;default_action=accept;command_timeout=10s
// The options after ';' override the milter_* keys for that filter. Pure parsing; the
// connection itself is smtpd's (smtpd/milters.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::milter {

enum class DefaultAction : std::uint8_t { kTempfail, kAccept };

struct Timeouts {
  std::int64_t connect = 30;   // seconds to establish the connection
  std::int64_t command = 30;   // seconds to wait for each reply
  std::int64_t content = 300;  // seconds for the whole message stage (end of DATA)
};

struct Spec {
  std::string text;  // as written, for logs
  bool unix_socket = false;
  std::string path;        // unix:
  std::string host;        // inet: (an IP address literal)
  std::uint16_t port = 0;  // inet:
  DefaultAction default_action = DefaultAction::kTempfail;
  Timeouts timeouts;
};

// `defaults` supplies what the entry does not override.
Result<Spec> parse_spec(std::string_view text, DefaultAction default_action, const Timeouts& defaults);
Result<DefaultAction> parse_default_action(std::string_view v);
const char* action_name(DefaultAction a);

}  // namespace common::milter
