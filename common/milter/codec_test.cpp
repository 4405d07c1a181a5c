// Unit tests for the milter codec (codec.hpp): command encodings byte for byte, the
// frame reader at every split and at its limits, and every reply kind decoded or refused.
#include "common/milter/codec.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace common::milter;
using namespace std::string_literals;

namespace {
std::string pkt(char code, const std::string& payload) { return encode_packet(code, payload); }
Packet packet_of(char code, std::string data) { return Packet{code, std::move(data)}; }
}  // namespace

TEST_CASE("commands encode as length, code, payload") {
  CHECK(encode_packet('Q', "") == "\0\0\0\1Q"s);
  CHECK(encode_optneg(6, 0x1ff, 0x1fffff) == "\0\0\0\x0dO\0\0\0\6\0\0\x01\xff\0\x1f\xff\xff"s);
  CHECK(encode_macros('C', {}) == "");
  CHECK(encode_macros('C', {{"j", "mx.example"}, {"{client_addr}", "192.0.2.1"}}) ==
        pkt('D',
            "Cj\0mx.example\0{client_addr}\0"
            "192.0.2.1\0"s));
  CHECK(encode_connect("client.example", '4', 2525, "192.0.2.1") == pkt('C',
                                                                        "client.example\0"
                                                                        "4\x09\xdd"
                                                                        "192.0.2.1\0"s));
  CHECK(encode_connect("[unknown]", 'L', 0, "") == pkt('C', "[unknown]\0L"s));
  CHECK(encode_helo("ehlo.example") == pkt('H', "ehlo.example\0"s));
  CHECK(encode_args('M', {"<a@example.org>", "SIZE=10"}) == pkt('M', "<a@example.org>\0SIZE=10\0"s));
  CHECK(encode_header("Subject", "hi") == pkt('L', "Subject\0hi\0"s));
  // A NUL inside a value cannot end the string early and shift the next one.
  CHECK(encode_header("X\0Y"s, "v") == pkt('L', "X\0v\0"s));
}

TEST_CASE("frame reader: any split, limits") {
  std::string stream = pkt('c', "") + pkt('h', "X-A\0b\0"s) + pkt('a', "");
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameReader r;
    r.feed(stream.substr(0, cut));
    std::vector<char> codes;
    auto drain = [&] {
      while (true) {
        auto p = r.next();
        REQUIRE(p.is_ok());
        if (!p->has_value()) break;
        codes.push_back((*p)->code);
      }
    };
    drain();
    r.feed(stream.substr(cut));
    drain();
    CHECK(codes == std::vector<char>{'c', 'h', 'a'});
    CHECK(r.buffered() == 0);
  }
  FrameReader zero;
  zero.feed("\0\0\0\0"s);
  CHECK_FALSE(zero.next().is_ok());
  FrameReader huge;
  huge.feed("\x7f\xff\xff\xff"s);
  CHECK_FALSE(huge.next().is_ok());
  FrameReader at_limit;
  std::string big(kMaxPacket - 1, 'x');
  at_limit.feed(pkt('b', big));
  auto p = at_limit.next();
  REQUIRE(p.is_ok());
  REQUIRE(p->has_value());
  CHECK((*p)->data.size() == kMaxPacket - 1);
  FrameReader over;
  over.feed(pkt('b', big + "x"));
  CHECK_FALSE(over.next().is_ok());
}

TEST_CASE("option negotiation reply") {
  std::string d = "\0\0\0\6\0\0\0\x13\0\0\0\x10"s;
  auto n = decode_optneg(d);
  REQUIRE(n.is_ok());
  CHECK(n->version == 6);
  CHECK(n->actions == 0x13);
  CHECK(n->steps == 0x10);
  CHECK(n->symlists.empty());
  auto s = decode_optneg(d + "\0\0\0\2{auth_authen} {mail_addr}\0"s);
  REQUIRE(s.is_ok());
  REQUIRE(s->symlists.size() == 1);
  CHECK(s->symlists[0].stage == 2);
  CHECK(s->symlists[0].names == std::vector<std::string>{"{auth_authen}", "{mail_addr}"});
  CHECK_FALSE(decode_optneg(d.substr(0, 11)).is_ok());
  CHECK_FALSE(decode_optneg(d + "\0\0\0\2{x}"s).is_ok());      // unterminated
  CHECK_FALSE(decode_optneg(d + "\0\0\0\x09{x}\0"s).is_ok());  // no such stage
  CHECK_FALSE(decode_optneg(d + "\0\0"s).is_ok());             // truncated
}

TEST_CASE("reply codes") {
  auto r = decode_replycode("550 5.7.1 Gtube pattern\0"s);
  REQUIRE(r.is_ok());
  CHECK(r->code == 550);
  CHECK(r->status == "5.7.1");
  CHECK(r->text == "Gtube pattern");
  auto plain = decode_replycode("451 try later\0"s);
  REQUIRE(plain.is_ok());
  CHECK(plain->status.empty());
  CHECK(plain->text == "try later");
  auto ml = decode_replycode("550-5.7.1 one\r\n550 5.7.1 two\0"s);
  REQUIRE(ml.is_ok());
  CHECK(ml->text == "one two");
  CHECK(ml->status == "5.7.1");
  CHECK_FALSE(decode_replycode("250 2.0.0 ok\0"s).is_ok());  // not a refusal
  CHECK_FALSE(decode_replycode("55 x\0"s).is_ok());
  CHECK_FALSE(decode_replycode("550 5.7.1 a\rb\0"s).is_ok());      // bare CR
  CHECK_FALSE(decode_replycode("550 x\nRCPT TO:<a>\0"s).is_ok());  // injection
  CHECK_FALSE(decode_replycode("550-a\r\n450 b\0"s).is_ok());      // mixed codes
  CHECK_FALSE(decode_replycode("550-a\0"s).is_ok());               // continuation last
  CHECK_FALSE(decode_replycode("550 a"s).is_ok());                 // unterminated
  CHECK_FALSE(decode_replycode("550 a\0\0"s).is_ok());             // trailing
  // 5.x.y in a 4xx reply is text, not a status.
  auto mix = decode_replycode("451 5.7.1 x\0"s);
  REQUIRE(mix.is_ok());
  CHECK(mix->status.empty());
}

TEST_CASE("every reply kind") {
  using K = Reply::Kind;
  struct Case {
    char code;
    std::string data;
    K kind;
  };
  for (const auto& c : std::vector<Case>{{'c', "", K::kContinue},
                                         {'a', "", K::kAccept},
                                         {'r', "", K::kReject},
                                         {'t', "", K::kTempfail},
                                         {'d', "", K::kDiscard},
                                         {'s', "", K::kSkip},
                                         {'p', "", K::kProgress},
                                         {'4', "", K::kShutdown},
                                         {'f', "", K::kShutdown},
                                         {'y', "554 5.7.1 no\0"s, K::kReplyCode},
                                         {'h', "X-Spam\0Yes\0"s, K::kAddHeader},
                                         {'i', "\0\0\0\1X-A\0b\0"s, K::kInsHeader},
                                         {'m', "\0\0\0\1X-A\0\0"s, K::kChgHeader},
                                         {'-', "<a@example.org>\0"s, K::kDelRcpt},
                                         {'+', "<b@example.org>\0"s, K::kAddRcpt},
                                         {'2', "<b@example.org>\0NOTIFY=NEVER\0"s, K::kAddRcptPar},
                                         {'e', "<c@example.org>\0"s, K::kChgFrom},
                                         {'e', "<c@example.org>\0SIZE=1\0"s, K::kChgFrom},
                                         {'b', "new body\r\n", K::kReplBody},
                                         {'q', "virus\0"s, K::kQuarantine}}) {
    INFO("code ", c.code);
    auto r = decode_reply(packet_of(c.code, c.data));
    REQUIRE(r.is_ok());
    CHECK(r->kind == c.kind);
  }
  auto ins = decode_reply(packet_of('i', "\0\0\0\x02X-A\0b c\0"s));
  REQUIRE(ins.is_ok());
  CHECK(ins->index == 2);
  CHECK(ins->name == "X-A");
  CHECK(ins->value == "b c");
  auto chg = decode_reply(packet_of('e', "<c@example.org>\0SIZE=1\0"s));
  CHECK(chg->name == "<c@example.org>");
  CHECK(chg->value == "SIZE=1");
  // Refused: payloads where none belongs, missing or extra strings, unknown codes.
  for (const auto& p :
       std::vector<Packet>{packet_of('c', "x"), packet_of('h', "X-A\0"s), packet_of('h', "X-A\0b\0c\0"s),
                           packet_of('h', "X-A\0b"s), packet_of('i', "\0\0\0"s),
                           packet_of('m', "\0\0\0\1X\0"s), packet_of('-', ""), packet_of('e', "a\0b\0c\0"s),
                           packet_of('y', "250 ok\0"s), packet_of('O', "x"), packet_of('Z', "")}) {
    INFO("code ", p.code);
    CHECK_FALSE(decode_reply(p).is_ok());
  }
}
