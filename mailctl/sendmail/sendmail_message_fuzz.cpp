// libFuzzer target for sendmail's message handling: the input is read in two pieces
// (with and without -i), split into header and body, its To:/Cc: parsed as address
// lists, and composed. Checks: no crash; every address accepted re-parses to itself;
// the composed text has LF line ends only where the input had them and never carries a
// Bcc: field. Seed corpus: tests/fuzz/corpus/sendmail_message_fuzz/.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "mailctl/sendmail/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t cut = in.empty() ? 0 : static_cast<unsigned char>(in[0]) % (in.size() + 1);
  for (bool ignore_dots : {false, true}) {
    sendmail::MessageReader r(ignore_dots, 1 << 16);
    if (r.feed(in.substr(0, cut))) r.feed(in.substr(cut));
    r.finish();
    const std::string& text = r.text();
    MB_CHECK(text.empty() || text.back() == '\n', "text without a final LF");
    sendmail::Message m = sendmail::split_message(text);
    for (const auto& h : m.headers) {
      MB_CHECK(!h.name.empty() && h.text.rfind(h.name + ":", 0) == 0, "header field text");
      auto list = sendmail::parse_address_list(h.value(), "local.test");
      if (!list) continue;
      for (const auto& a : *list) {
        auto again = sendmail::parse_address_list(a.str(), "local.test");
        MB_CHECK(again && again->size() == 1 && (*again)[0].str() == a.str(), "address round trip");
      }
    }
    sendmail::Compose c;
    c.hostname = "mail.example.test";
    c.queue_id = "0123456789ABCDEF";
    c.from = "alice@example.test";
    c.full_name = std::string(in.substr(0, std::min<std::size_t>(in.size(), 40)));
    std::string out = sendmail::compose(m, c);
    sendmail::Message back = sendmail::split_message(out);
    for (const auto& h : back.headers) {
      std::string n;
      for (char ch : h.name) n.push_back(static_cast<char>(ch | 0x20));
      MB_CHECK(n != "bcc", "Bcc: survived");
    }
    std::string name = sendmail::display_name(c.full_name);
    MB_CHECK(name.find('\n') == std::string::npos && name.find('\r') == std::string::npos, "CR/LF in name");
  }
  return 0;
}
