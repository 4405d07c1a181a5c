// Unit tests for the milter conversation (client.hpp) against a scripted filter: the
// packets each stage sends, the steps a filter declines, the verdicts at each stage,
// modifications at the end of the message, and every way a filter can break the
// protocol ending in kFailed rather than a guess.
#include "common/milter/client.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace common::milter;
using namespace std::string_literals;
using A = Outcome::Action;

namespace {

std::string optneg_reply(std::uint32_t actions, std::uint32_t steps, const std::string& extra = "") {
  std::string p = encode_optneg(6, actions, steps);
  p[4] = 'O';
  p += extra;
  p[3] = static_cast<char>(p.size() - 4);
  return p;
}

std::string reply(char code, const std::string& data = "") { return encode_packet(code, data); }

// Decodes the packets the client wrote, as "code:payload" strings.
std::vector<std::string> packets(const std::string& bytes) {
  FrameReader r;
  r.feed(bytes);
  std::vector<std::string> out;
  while (true) {
    auto p = r.next();
    REQUIRE(p.is_ok());
    if (!p->has_value()) break;
    out.push_back(std::string(1, (*p)->code) + ":" + (*p)->data);
  }
  return out;
}

Client negotiated(std::uint32_t actions, std::uint32_t steps, const std::string& extra = "") {
  Client c;
  c.start();
  auto opt = packets(c.take_output());
  REQUIRE(opt.size() == 1);
  CHECK(opt[0][0] == 'O');
  CHECK(c.waiting());
  c.feed(optneg_reply(actions, steps, extra));
  REQUIRE(c.stage_done());
  return c;
}

}  // namespace

TEST_CASE("a whole session with replies at every stage") {
  Client c = negotiated(kAllActions, 0);
  c.connect({{"j", "mx.example"}}, "client.example", '4', 25, "192.0.2.1");
  auto out = packets(c.take_output());
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "D:Cj\0mx.example\0"s);
  CHECK(out[1][0] == 'C');
  CHECK_FALSE(c.stage_done());
  c.feed(reply('c'));
  REQUIRE(c.stage_done());
  CHECK(c.outcome().action == A::kContinue);

  c.helo({}, "client.example");
  CHECK(packets(c.take_output()) == std::vector<std::string>{"H:client.example\0"s});
  c.feed(reply('c'));
  c.mail({{"{mail_addr}", "a@example.org"}}, {"<a@example.org>"});
  CHECK(packets(c.take_output()).size() == 2);
  c.feed(reply('c'));
  c.rcpt({}, {"<b@example.net>"});
  c.take_output();
  c.feed(reply('c'));
  REQUIRE(c.stage_done());

  Message m;
  m.headers = {{"Subject", " hello"}, {"From", " a@example.org"}};
  m.body = "line 1\nline 2\n";
  Macros eom = {{"i", "QID"}};
  c.message({}, eom, &m);
  // DATA, then one packet per reply.
  CHECK(packets(c.take_output()) == std::vector<std::string>{"T:"});
  c.feed(reply('c'));
  CHECK(packets(c.take_output()) == std::vector<std::string>{"L:Subject\0hello\0"s});
  c.feed(reply('c'));
  CHECK(packets(c.take_output()) == std::vector<std::string>{"L:From\0a@example.org\0"s});
  c.feed(reply('c'));
  CHECK(packets(c.take_output()) == std::vector<std::string>{"N:"});
  c.feed(reply('c'));
  CHECK(packets(c.take_output()) == std::vector<std::string>{"B:line 1\r\nline 2\r\n"});
  c.feed(reply('c'));
  CHECK(packets(c.take_output()) == std::vector<std::string>{"D:Ei\0QID\0"s, "E:"});
  // Modifications, progress, then the verdict, all in one read.
  c.feed(reply('h', "X-Spam\0Yes\0"s) + reply('p') + reply('m', "\0\0\0\1X-Old\0\0"s) +
         reply('e', "<new@example.org>\0"s) + reply('+', "<c@example.net>\0"s) + reply('a'));
  REQUIRE(c.stage_done());
  CHECK(c.take_progress());
  CHECK(c.outcome().action == A::kAccept);
  REQUIRE(c.outcome().mods.size() == 4);
  CHECK(c.outcome().mods[0].kind == Reply::Kind::kAddHeader);
  CHECK(c.outcome().mods[3].name == "<c@example.net>");
  // The transaction ended with the verdict: no ABORT before the next MAIL.
  c.mail({}, {"<x@example.org>"});
  auto next = packets(c.take_output());
  REQUIRE(next.size() == 1);
  CHECK(next[0][0] == 'M');
  c.feed(reply('c'));
  c.abort();
  CHECK(packets(c.take_output()) == std::vector<std::string>{"A:"});
  c.quit();
  CHECK(packets(c.take_output()) == std::vector<std::string>{"Q:"});
}

TEST_CASE("declined stages and replies are neither sent nor waited for") {
  Client c = negotiated(act::kAddHeaders, step::kNoConnect | step::kNoHelo | step::kNrMail | step::kNoRcpt |
                                              step::kNoData | step::kNrHeader | step::kNoEoh | step::kNrBody |
                                              step::kHeaderLeadingSpace);
  c.connect({}, "h", '4', 1, "192.0.2.1");
  CHECK(c.stage_done());
  CHECK(c.take_output().empty());
  c.helo({}, "h");
  CHECK(c.stage_done());
  c.mail({}, {"<a@example.org>"});
  CHECK(c.stage_done());  // NR_MAIL
  CHECK(packets(c.take_output()).size() == 1);
  c.rcpt({}, {"<b@example.org>"});
  CHECK(c.stage_done());
  CHECK(c.take_output().empty());
  Message m;
  m.headers = {{"Subject", " x"}};
  std::string body(200000, 'a');
  body += "\n";
  m.body = body;
  c.message({}, {}, &m);
  auto out = packets(c.take_output());
  // Header with its leading space (HDR_LEADSPC), four body chunks, EOM.
  REQUIRE(out.size() == 6);
  CHECK(out[0] == "L:Subject\0 x\0"s);
  std::size_t total = 0;
  for (int i = 1; i <= 4; ++i) {
    CHECK(out[i][0] == 'B');
    CHECK(out[i].size() - 2 <= kBodyChunk);
    total += out[i].size() - 2;
  }
  CHECK(total == 200002);
  CHECK(out[5] == "E:");
  c.feed(reply('c'));
  CHECK(c.outcome().action == A::kContinue);
}

TEST_CASE("accept at connect ends filtering for the session; at MAIL for the transaction") {
  Client c = negotiated(kAllActions, 0);
  c.connect({}, "h", '4', 1, "192.0.2.1");
  c.take_output();
  c.feed(reply('a'));
  CHECK(c.outcome().action == A::kAccept);
  c.helo({}, "h");
  CHECK(c.stage_done());
  c.mail({}, {"<a@b>"});
  CHECK(c.stage_done());
  CHECK(c.take_output().empty());

  Client t = negotiated(kAllActions, 0);
  t.mail({}, {"<a@b>"});
  t.take_output();
  t.feed(reply('a'));
  t.rcpt({}, {"<c@d>"});
  CHECK(t.stage_done());
  CHECK(t.take_output().empty());
  Message m;
  t.message({}, {}, &m);
  CHECK(t.stage_done());
  CHECK(t.outcome().action == A::kAccept);
  t.mail({}, {"<e@f>"});  // a new transaction is filtered again, after an ABORT
  auto out = packets(t.take_output());
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "A:");
}

TEST_CASE("a refused recipient refuses only that recipient") {
  Client c = negotiated(kAllActions, 0);
  c.mail({}, {"<a@b>"});
  c.take_output();
  c.feed(reply('c'));
  c.rcpt({}, {"<x@y>"});
  c.take_output();
  c.feed(reply('y', "550 5.1.1 no such user\0"s));
  REQUIRE(c.stage_done());
  CHECK(c.outcome().action == A::kReject);
  CHECK(c.outcome().has_reply);
  CHECK(c.outcome().reply.code == 550);
  CHECK(c.outcome().reply.text == "no such user");
  c.rcpt({}, {"<z@y>"});
  CHECK(packets(c.take_output()).size() == 1);
  c.feed(reply('t'));
  CHECK(c.outcome().action == A::kTempfail);
}

TEST_CASE("SKIP ends the body; a refusal mid-message ends the stage") {
  Client c = negotiated(kAllActions, step::kSkip | step::kNoData | step::kNoHeaders | step::kNoEoh);
  std::string body(300000, 'b');
  Message m;
  m.body = body;
  c.message({}, {}, &m);
  CHECK(packets(c.take_output()).size() == 1);
  c.feed(reply('s'));
  CHECK(packets(c.take_output()) == std::vector<std::string>{"E:"});
  c.feed(reply('c'));
  CHECK(c.outcome().action == A::kContinue);

  Client r = negotiated(kAllActions, 0);
  m.headers = {{"Subject", " x"}};
  r.message({}, {}, &m);
  r.take_output();
  r.feed(reply('c'));  // DATA
  r.take_output();
  r.feed(reply('d'));  // discard at the first header
  CHECK(r.outcome().action == A::kDiscard);
  CHECK(r.ready());
}

TEST_CASE("macros follow the filter's SETSYMLIST") {
  std::string syml = "\0\0\0\0{client_addr}\0"s;
  Client c = negotiated(kAllActions, step::kNrConnect, syml);
  c.connect({{"j", "mx"}, {"{client_addr}", "192.0.2.1"}}, "h", '6', 25, "2001:db8::1");
  auto out = packets(c.take_output());
  REQUIRE(out.size() == 2);
  CHECK(out[0] ==
        "D:C{client_addr}\0"
        "192.0.2.1\0"s);
}

TEST_CASE("protocol violations fail the filter") {
  auto fails = [](const std::string& bytes, bool at_eom) {
    Client c = negotiated(act::kAddHeaders, step::kNoData | step::kNoHeaders | step::kNoEoh | step::kNoBody);
    Message m;
    if (at_eom) {
      c.message({}, {}, &m);
    } else {
      c.helo({}, "h");
    }
    c.take_output();
    c.feed(bytes);
    return c.failed() && !c.outcome().error.empty() && c.outcome().action == A::kFailed;
  };
  CHECK(fails(reply('h', "X\0y\0"s), false));         // modification outside EOM
  CHECK(fails(reply('m', "\0\0\0\1X\0y\0"s), true));  // not negotiated
  CHECK(fails(reply('s'), true));                     // SKIP not in a body
  CHECK(fails(reply('4'), false));                    // shutdown
  CHECK(fails("\0\0\0\0"s, false));                   // length 0
  CHECK(fails(reply('Z'), false));                    // unknown code
  CHECK(fails(reply('c') + reply('c'), false));       // a reply nobody asked for
  CHECK(fails(reply('y', "250 fine\0"s), false));     // not a refusal
  CHECK_FALSE(fails(reply('c'), false));

  Client v;
  v.start();
  v.take_output();
  std::string old = optneg_reply(0, 0);
  old[8] = 7;  // version 7
  v.feed(old);
  CHECK(v.failed());
  Client n;
  n.start();
  n.take_output();
  n.feed(reply('c'));
  CHECK(n.failed());
}

TEST_CASE("a filter asking for more than offered gets what was offered") {
  Client c = negotiated(0xffffffff, 0xffffffff & ~(step::kNoConnect | step::kNrConnect));
  CHECK(c.actions() == kAllActions);
  CHECK((c.steps() & step::kRcptRej) == 0);
}
