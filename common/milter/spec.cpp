// Parsing of mail filter entries (see spec.hpp).
#include "common/milter/spec.hpp"

#include <arpa/inet.h>

#include "common/config/config.hpp"

namespace common::milter {

Result<DefaultAction> parse_default_action(std::string_view v) {
  if (v == "tempfail") return DefaultAction::kTempfail;
  if (v == "accept") return DefaultAction::kAccept;
  return Status::error("default action must be tempfail or accept, not '" + std::string(v) + "'");
}

const char* action_name(DefaultAction a) { return a == DefaultAction::kAccept ? "accept" : "tempfail"; }

Result<Spec> parse_spec(std::string_view text, DefaultAction default_action, const Timeouts& defaults) {
  Spec s;
  s.text.assign(text);
  s.default_action = default_action;
  s.timeouts = defaults;
  std::string_view addr = text.substr(0, text.find(';'));
  std::string_view opts = addr.size() < text.size() ? text.substr(addr.size() + 1) : std::string_view();
  if (addr.substr(0, 5) == "unix:") {
    s.unix_socket = true;
    s.path.assign(addr.substr(5));
    if (s.path.empty() || s.path[0] != '/')
      return Status::error("milter '" + s.text + "': unix: needs an absolute path");
    if (s.path.size() >= 108) return Status::error("milter '" + s.text + "': socket path too long");
  } else if (addr.substr(0, 5) == "inet:") {
    auto hp = config::parse_host_port(addr.substr(5));
    if (!hp) return Status::error("milter '" + s.text + "': " + hp.message());
    in6_addr a6;
    in_addr a4;
    if (inet_pton(AF_INET, hp->host.c_str(), &a4) != 1 && inet_pton(AF_INET6, hp->host.c_str(), &a6) != 1)
      return Status::error("milter '" + s.text + "': inet: needs an IP address and a port");
    if (hp->port == 0) return Status::error("milter '" + s.text + "': inet: needs a port");
    s.host = hp->host;
    s.port = hp->port;
  } else {
    return Status::error("milter '" + s.text + "': must start with unix: or inet:");
  }
  while (!opts.empty()) {
    std::string_view o = opts.substr(0, opts.find(';'));
    opts = o.size() < opts.size() ? opts.substr(o.size() + 1) : std::string_view();
    std::size_t eq = o.find('=');
    if (eq == std::string_view::npos) return Status::error("milter '" + s.text + "': option without '='");
    std::string_view k = o.substr(0, eq), v = o.substr(eq + 1);
    if (k == "default_action") {
      auto a = parse_default_action(v);
      if (!a) return Status::error("milter '" + s.text + "': " + a.message());
      s.default_action = *a;
      continue;
    }
    std::int64_t* t = k == "connect_timeout"   ? &s.timeouts.connect
                      : k == "command_timeout" ? &s.timeouts.command
                      : k == "content_timeout" ? &s.timeouts.content
                                               : nullptr;
    if (!t) return Status::error("milter '" + s.text + "': unknown option '" + std::string(k) + "'");
    auto d = config::parse_duration(v);
    if (!d || *d < 1 || *d > 3600)
      return Status::error("milter '" + s.text + "': " + std::string(k) +
                           " must be a duration from 1s to 1h");
    *t = *d;
  }
  return s;
}

}  // namespace common::milter
