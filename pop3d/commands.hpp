// POP3 command lines -> structs, with no I/O (RFC 1939 3, RFC 2449, RFC 2595, RFC 5034).
// The session (session.hpp) decides what a command means in its state; this file only
// splits and checks the syntax. Also the pure helpers for AUTH PLAIN's base64 message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pop3d {

enum class Verb {
  kUser,
  kPass,
  kQuit,
  kStat,
  kList,
  kRetr,
  kDele,
  kNoop,
  kRset,
  kTop,
  kUidl,
  kCapa,
  kStls,
  kAuth,
  kApop,
  kUnknown
};

// RFC 2449 4: a command line, CRLF included, is at most 255 octets. We accept up to
// kMaxLine (clients send long PASS lines and AUTH initial responses) and refuse longer.
inline constexpr std::size_t kMaxLine = 1024;

struct Command {
  Verb verb = Verb::kUnknown;
  std::string keyword;            // as sent, upper-cased (for logs)
  std::vector<std::string> args;  // split on single spaces
  std::string rest;               // everything after "KEYWORD " (PASS keeps spaces)
};

// UNTRUSTED: one line from the client without its CRLF (or bare LF).
// Fails on an empty line or argument (two spaces), NUL or other control characters,
// a keyword longer than 4 characters, or a line longer than kMaxLine.
common::Result<Command> parse_command(std::string_view line);

// A message number argument (RFC 1939 5: "msg"): decimal digits, 1..max_msg.
std::optional<std::size_t> parse_msg_number(std::string_view arg, std::size_t max_msg);
// TOP's line count: decimal digits, >= 0 (capped at SIZE_MAX).
std::optional<std::uint64_t> parse_line_count(std::string_view arg);

}  // namespace pop3d
