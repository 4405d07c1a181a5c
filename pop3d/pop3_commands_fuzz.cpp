// libFuzzer target for what pop3d takes from the network: command lines (parse_command,
// message numbers; AUTH PLAIN data goes through common/auth/sasl_fuzz.cpp), and, with the same
// bytes as a stored message, the RETR/TOP encoder, whose output must never contain the
// terminating "CRLF.CRLF" before its end (the POP3 analogue of SMTP smuggling).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "pop3d/commands.hpp"
#include "pop3d/stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  auto cmd = pop3d::parse_command(in.substr(0, nl));
  if (cmd) {
    for (const auto& a : cmd->args) {
      MB_CHECK(!a.empty() && a.find(' ') == std::string::npos, "bad argument split");
      (void)pop3d::parse_msg_number(a, 1000);
      (void)pop3d::parse_line_count(a);
    }
  }
  for (int top : {-1, 0, 3}) {
    pop3d::WireEncoder enc(top < 0 ? std::nullopt : std::optional<std::uint64_t>(top));
    std::string out;
    for (std::size_t i = 0; i < in.size() && !enc.done(); i += 7) enc.feed(in.substr(i, 7), out);
    enc.finish(out);
    std::string framed = "\r\n" + out;
    MB_CHECK(framed.size() >= 5 && framed.compare(framed.size() - 5, 5, "\r\n.\r\n") == 0, "bad terminator");
    MB_CHECK(framed.find("\r\n.\r\n") == framed.size() - 5, "early terminator");
    if (top < 0) {
      pop3d::WireSizer sizer;
      sizer.feed(in);
      MB_CHECK(out.size() >= sizer.size(), "encoding shorter than its size");
    }
  }
  return 0;
}
