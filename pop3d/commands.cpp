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

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

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

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=') {
        // Padding only at the very end, in the last one or two places.
        if (i + 4 != in.size() || j < 2) return std::nullopt;
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad) return std::nullopt;
      v[j] = b64_value(c);
      if (v[j] < 0) return std::nullopt;
    }
    // RFC 4648 3.5: the bits dropped by padding must be zero (one canonical encoding).
    if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15))) return std::nullopt;
    std::uint32_t triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((triple >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((triple >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(triple & 0xff);
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t t = (static_cast<unsigned char>(in[i]) << 16) |
                      (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(t >> 18) & 63];
    out += kAlphabet[(t >> 12) & 63];
    out += kAlphabet[(t >> 6) & 63];
    out += kAlphabet[t & 63];
  }
  if (i < in.size()) {
    std::uint32_t t = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) t |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(t >> 18) & 63];
    out += kAlphabet[(t >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(t >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

common::Result<PlainCredentials> parse_sasl_plain(std::string_view decoded) {
  auto n1 = decoded.find('\0');
  if (n1 == std::string_view::npos) return common::Status::error("malformed PLAIN message");
  auto n2 = decoded.find('\0', n1 + 1);
  if (n2 == std::string_view::npos) return common::Status::error("malformed PLAIN message");
  std::string_view authz = decoded.substr(0, n1);
  std::string_view authc = decoded.substr(n1 + 1, n2 - n1 - 1);
  std::string_view pass = decoded.substr(n2 + 1);
  if (authc.empty() || pass.empty() || pass.find('\0') != std::string_view::npos)
    return common::Status::error("malformed PLAIN message");
  if (!authz.empty() && authz != authc) return common::Status::error("proxy authorization not supported");
  return PlainCredentials{std::string(authc), std::string(pass)};
}

}  // namespace pop3d
