// libFuzzer target for the client side of SMTP: the reply parser (common/smtp/reply.hpp)
// and the client session it drives (client.hpp). Any server bytes must parse or fail
// cleanly, every reply must respect the parser's caps, and no sequence of replies may
// break an invariant of the session (MB_CHECK aborts, which the fuzzer reports).
// The first input byte picks the chunk size the bytes are fed in.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "common/smtp/client.hpp"
#include "common/smtp/reply.hpp"

using namespace common::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  SessionOptions opt;
  opt.helo_name = "fuzz.example";
  opt.tls = (data[0] & 0x40) ? TlsPolicy::kEncrypt : TlsPolicy::kMay;
  if (data[0] & 0x80) {
    opt.auth_user = "u";
    opt.auth_password = "p";
  }
  ClientSession s(opt);
  ReplyParser p;
  bool closed = false;
  int turn = 0;
  auto apply = [&](const Output& o) {
    if (o.close) closed = true;
    if (o.start_tls && !closed) {
      auto t = s.on_tls_established();
      if (t.close) closed = true;
    }
    if (o.ready && !closed) {
      Output n;
      if (++turn % 3 == 0) {
        n = s.etrn("example.test");
      } else {
        Transaction tx;
        tx.sender = "a@example.test";
        tx.recipients = {"b@example.test", "c@example.test"};
        tx.size = 100;
        n = s.send(tx);
      }
      if (n.close) closed = true;
      MB_CHECK(n.results.empty() || n.results.size() == 2, "wrong number of results");
    }
    MB_CHECK(o.results.empty() || o.results.size() == 2, "wrong number of results");
  };
  while (!in.empty() && !closed) {
    std::string_view piece = in.substr(0, chunk);
    std::size_t used = p.feed(piece);
    MB_CHECK(used <= piece.size(), "parser used more than it was given");
    in.remove_prefix(used);
    if (p.state() == ReplyParser::State::kError) {
      apply(s.on_protocol_error(p.error()));
      break;
    }
    if (p.state() == ReplyParser::State::kReply) {
      Reply r = p.take();
      MB_CHECK(r.code >= 200 && r.code <= 559, "reply code out of range");
      MB_CHECK(!r.lines.empty() && r.lines.size() <= kMaxReplyLines, "bad line count");
      for (const auto& l : r.lines) MB_CHECK(l.size() <= kMaxReplyLine, "line over the cap");
      MB_CHECK(r.enhanced.empty() || is_enhanced_status(r.enhanced), "bad enhanced code");
      MB_CHECK(r.summary(300).size() <= 300, "summary over its bound");
      apply(s.on_reply(r));
    } else if (used == 0) {
      break;
    }
  }
  if (!closed) apply(s.on_closed());
  return 0;
}
