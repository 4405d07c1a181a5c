// Parsing of POP3 command lines (see commands.hpp).
#include "pop3d/commands.hpp"

#include "common/mail/ascii.hpp"

namespace pop3d {
namespace {

struct KeywordVerb {
  std::string_view keyword;
  Verb verb;
};
constexpr KeywordVerb kVerbs[] = {
    {"USER", Verb::kUser}, {"PASS", Verb::kPass}, {"QUIT", Verb::kQuit}, {"STAT", Verb::kStat},
    {"LIST", Verb::kList}, {"RETR", Verb::kRetr}, {"DELE", Verb::kDele}, {"NOOP", Verb::kNoop},
    {"RSET", Verb::kRset}, {"TOP", Verb::kTop},   {"UIDL", Verb::kUidl}, {"CAPA", Verb::kCapa},
    {"STLS", Verb::kStls}, {"AUTH", Verb::kAuth}, {"APOP", Verb::kApop},
};

}  // namespace

common::Result<Command> parse_command(std::string_view line) {
  if (line.size() + 2 > kMaxLine) return common::Status::error("line too long");
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return common::Status::error("control character in command");
  }
  if (line.empty()) return common::Status::error("empty command");
  Command cmd;
  auto sp = line.find(' ');
  std::string_view kw = line.substr(0, sp);
  if (kw.empty() || kw.size() > 4) return common::Status::error("unknown command");
  cmd.keyword = common::mail::upper(kw);
  for (const auto& kv : kVerbs)
    if (kv.keyword == cmd.keyword) cmd.verb = kv.verb;
  if (sp == std::string_view::npos) return cmd;
  cmd.rest = std::string(line.substr(sp + 1));
  if (cmd.verb == Verb::kPass) return cmd;  // RFC 1939 7: the password may contain spaces
  std::string_view rest = line.substr(sp + 1);
  while (true) {
    auto next = rest.find(' ');
    std::string_view arg = rest.substr(0, next);
    // RFC 1939 3 allows 40 characters per argument, but addresses as user names and
    // AUTH's initial response (RFC 5034 4) are longer: only the line length is limited.
    if (arg.empty()) return common::Status::error("empty argument");
    cmd.args.emplace_back(arg);
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return cmd;
}

std::optional<std::size_t> parse_msg_number(std::string_view arg, std::size_t max_msg) {
  if (arg.empty() || arg.size() > 10) return std::nullopt;
  std::size_t n = 0;
  for (char c : arg) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n < 1 || n > max_msg) return std::nullopt;
  return n;
}

std::optional<std::uint64_t> parse_line_count(std::string_view arg) {
  if (arg.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : arg) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n > (UINT64_MAX - 9) / 10 ? UINT64_MAX : n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

}  // namespace pop3d
