// libFuzzer target for the milter codec and conversation (codec.hpp, client.hpp): the
// input is a filter's byte stream, fed to a client at every stage of a session (the
// first byte picks where it is split), and to the reply decoders directly. Nothing may
// crash, and a client never both fails and finishes a stage.
// Seeds: tests/fuzz/corpus/milter_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/milter/client.hpp"

namespace milter = common::milter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  milter::FrameReader fr;
  fr.feed(in);
  for (int i = 0; i < 64; ++i) {
    auto p = fr.next();
    if (!p || !p->has_value()) break;
    (void)milter::decode_reply(**p);
    (void)milter::decode_optneg((*p)->data);
  }
  std::size_t step = in.empty() ? 1 : static_cast<unsigned char>(in[0]) % 16 + 1;
  milter::Client c;
  c.start();
  milter::Message m;
  m.headers = {{"Subject", " fuzz"}, {"From", " a@example.org"}};
  m.body = "body\nline\n";
  milter::Macros none;
  int stage = 0;
  std::size_t pos = 0;
  while (pos < in.size() && !c.failed()) {
    c.feed(in.substr(pos, step));
    pos += step;
    (void)c.take_output();
    if (c.failed() && c.stage_done()) std::abort();
    if (!c.ready()) continue;
    switch (stage++ % 7) {
      case 0: c.connect(none, "h", '4', 25, "192.0.2.1"); break;
      case 1: c.helo(none, "h"); break;
      case 2: c.mail(none, {"<a@example.org>"}); break;
      case 3: c.rcpt(none, {"<b@example.org>"}); break;
      case 4: c.message(none, none, &m); break;
      case 5: c.abort(); break;
      default: c.rcpt(none, {"<c@example.org>"}); break;
    }
  }
  return 0;
}
