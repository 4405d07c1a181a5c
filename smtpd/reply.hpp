// SMTP replies as values: a code, an RFC 3463 enhanced status code and a text. The
// parsers (commands.hpp), the policy (policy.hpp) and the session state machine
// (session.hpp) all produce these; only the session renders them onto the wire.
// RFC 2034 3: every 2xx/4xx/5xx reply carries an enhanced code except the greeting and
// the replies to HELO/EHLO; 3xx (354) carries none.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace smtpd {

struct Reply {
  int code = 250;
  std::string status;  // "2.1.0"; empty for 354 and the HELO/EHLO replies
  std::string text;

  bool is_error() const { return code >= 400; }
  bool is_temporary() const { return code >= 400 && code < 500; }

  // One line "250 2.1.0 Ok\r\n".
  std::string render() const {
    std::string out = std::to_string(code) + " ";
    if (!status.empty()) out += status + " ";
    out += text;
    out += "\r\n";
    return out;
  }
};

inline Reply make_reply(int code, std::string status, std::string text) {
  return Reply{code, std::move(status), std::move(text)};
}

// A multi-line reply (RFC 5321 4.2.1): "250-first", ..., "250 last".
inline std::string render_lines(int code, const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += std::to_string(code);
    out += i + 1 == lines.size() ? ' ' : '-';
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

}  // namespace smtpd
