// Tests of the texts of `mailctl queue list` and `queue show` (queue_format.hpp), in
// UTC so that the expected times are fixed.
#include "mailctl/queue_format.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

using namespace mailctl;
namespace ipc = common::ipc;

namespace {

// Sets TZ=UTC for one test and puts the old value back.
struct Utc {
  std::string old;
  bool had;
  Utc() {
    const char* t = std::getenv("TZ");
    had = t != nullptr;
    if (had) old = t;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  ~Utc() {
    if (had)
      ::setenv("TZ", old.c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }
};

constexpr std::int64_t kT = 1700000000;  // Tue Nov 14 22:13:20 2023 UTC

ipc::QueueRcptInfo rcpt(const std::string& a, std::uint8_t state, const std::string& status = "",
                        const std::string& text = "") {
  return ipc::QueueRcptInfo{a, state, status, text};
}

}  // namespace

TEST_CASE("mailq: empty queue") { CHECK(format_mailq({}) == "Mail queue is empty\n"); }

TEST_CASE("mailq: Postfix-like layout, markers, undelivered recipients under their last error") {
  Utc utc;
  ipc::QueueEntry held;
  held.id = "0123456789ABCDEF";
  held.arrival = kT;
  held.size = 1500;
  held.sender = "demo@example.test";
  held.hold = true;
  const std::string why = "connect to mx.peer.test[127.0.0.5]:25: Connection refused";
  held.rcpts = {rcpt("alice@peer.test", 0, "4.4.1", why), rcpt("bob@peer.test", 0, "4.4.1", why),
                rcpt("carol@peer.test", 2, "2.0.0", "250 ok"), rcpt("dave@peer.test", 3, "5.1.1", "550 no")};
  ipc::QueueEntry active;
  active.id = "0123456789ABCDF0";
  active.arrival = kT - 86400 * 10;  // a single-digit day is padded, as by ctime
  active.size = 100;
  active.rcpts = {rcpt("x@y.test", 1), rcpt("z@y.test", 0, "4.2.2", "mailbox full")};
  std::string want =
      "-Queue ID-------- --Size-- ----Arrival Time---  -Sender/Recipient-------\n"
      "0123456789ABCDEF!     1500 Tue Nov 14 22:13:20  demo@example.test\n"
      "(connect to mx.peer.test[127.0.0.5]:25: Connection refused)\n"
      "                                                alice@peer.test\n"
      "                                                bob@peer.test\n"
      "\n"
      "0123456789ABCDF0*      100 Sat Nov  4 22:13:20  MAILER-DAEMON\n"
      "                                                x@y.test\n"
      "(mailbox full)\n"
      "                                                z@y.test\n"
      "\n"
      "-- 2 Kbytes in 2 Requests.\n";
  CHECK(format_mailq({held, active}) == want);

  // Streamed entry by entry (a large queue, page by page): the same text.
  MailqWriter w;
  std::string streamed = w.add(held);
  CHECK(streamed.starts_with("-Queue ID--------"));
  streamed += w.add(active);
  CHECK(streamed.find("-Queue ID", 1) == std::string::npos);  // the title once
  CHECK(streamed + w.end() == want);
  CHECK(MailqWriter().end() == "Mail queue is empty\n");

  // One request, sizes rounded up to whole Kbytes, a plain (not held, idle) message.
  active.rcpts = {rcpt("x@y.test", 0)};
  std::string one = format_mailq({active});
  CHECK(one.find("\n0123456789ABCDF0       100 ") != std::string::npos);
  CHECK(one.ends_with("\n-- 1 Kbytes in 1 Request.\n"));
}

TEST_CASE("mailq: hostile text cannot reach the terminal raw, long errors are wrapped") {
  Utc utc;
  ipc::QueueEntry e;
  e.id = "0123456789ABCDEF";
  e.arrival = kT;
  e.sender = "evil\x1b[2J@example.test";
  std::string longtext;
  for (int i = 0; i < 30; ++i) longtext += "word" + std::to_string(i) + " ";
  e.rcpts = {rcpt("a\x07@b.test", 0, "4.0.0", longtext)};
  std::string out = format_mailq({e});
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\x07') == std::string::npos);
  CHECK(out.find("evil\\x1b[2J@example.test") != std::string::npos);
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t nl = out.find('\n', pos);
    CHECK(nl - pos <= 78);
    pos = nl + 1;
  }
  CHECK(out.find("(word0 word1") != std::string::npos);
  CHECK(out.find("word29)\n") != std::string::npos);
}

TEST_CASE("terminal_safe keeps text, tabs and UTF-8, escapes controls and bad bytes") {
  CHECK(terminal_safe("Subject: hello\tthere") == "Subject: hello\tthere");
  CHECK(terminal_safe("Gr\xc3\xbc\xc3\x9f"
                      "e \xe2\x82\xac") ==
        "Gr\xc3\xbc\xc3\x9f"
        "e \xe2\x82\xac");
  CHECK(terminal_safe("a\rb\nc\x7f") == "a\\x0db\\x0ac\\x7f");
  CHECK(terminal_safe("back\\slash") == "back\\x5cslash");
  CHECK(terminal_safe("\xc2\x9b"
                      "31m") == "\\xc2\\x9b31m");             // C1 CSI
  CHECK(terminal_safe("\xff\xc3") == "\\xff\\xc3");           // invalid, truncated
  CHECK(terminal_safe("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");  // overlong
  CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
}

TEST_CASE("wrap") {
  CHECK(wrap("", 10) == std::vector<std::string>{""});
  CHECK(wrap("a b c", 10) == std::vector<std::string>{"a b c"});
  CHECK(wrap("aaaa bbbb cccc", 9) == std::vector<std::string>{"aaaa bbbb", "cccc"});
  CHECK(wrap("averyveryverylongword x", 5) == std::vector<std::string>{"averyveryverylongword", "x"});
}

TEST_CASE("header_block") {
  bool complete = false;
  CHECK(header_block("A: 1\nB: 2\n\nbody\n", &complete) == "A: 1\nB: 2\n");
  CHECK(complete);
  CHECK(header_block("\nbody only\n", &complete) == "");
  CHECK(complete);
  CHECK(header_block("A: 1\nB: 2", &complete) == "A: 1\nB: 2");
  CHECK_FALSE(complete);
}

TEST_CASE("format_span") {
  CHECK(format_span(-5) == "now");
  CHECK(format_span(42) == "42s");
  CHECK(format_span(300) == "5m");
  CHECK(format_span(3900) == "1h 5m");
  CHECK(format_span(2 * 86400 + 4 * 3600 + 59) == "2d 4h");
}

TEST_CASE("queue show: envelope, delivery state, header") {
  Utc utc;
  ShowInput in;
  in.env.queue_id = "0123456789ABCDEF";
  in.env.arrival = kT;
  in.env.protocol = "ESMTPSA";
  in.env.client = "client.example.net [192.0.2.7]";
  in.env.auth_user = "demo@example.test";
  in.env.body_8bit = true;
  in.env.sender = "demo@example.test";
  in.env.recipients = {"alice@peer.test", "bob@peer.test"};
  in.env.data_size = 1234;
  in.env.data_lines = 40;
  in.header = "Subject: hi\nX-Folded: a\n\tb\n";
  in.now = kT + 600;
  ipc::QueueEntry e;
  e.id = in.env.queue_id;
  e.attempts = 2;
  e.next_try = kT + 900;
  e.rcpts = {rcpt("alice@peer.test", 0, "4.4.1", "connect refused"),
             rcpt("bob@peer.test", 2, "2.0.0", "250 ok")};
  in.state = e;
  std::string want =
      "queue id     0123456789ABCDEF\n"
      "arrival      2023-11-14 22:13:20 (10m ago)\n"
      "size         1234 bytes, 40 lines, 8BITMIME\n"
      "protocol     ESMTPSA from client.example.net [192.0.2.7]\n"
      "auth user    demo@example.test\n"
      "sender       <demo@example.test>\n"
      "state        deferred, next attempt 2023-11-14 22:28:20 (in 5m)\n"
      "attempts     2\n"
      "recipients\n"
      "  <alice@peer.test>  deferred  4.4.1 connect refused\n"
      "  <bob@peer.test>  delivered  2.0.0 250 ok\n"
      "header\n"
      "  Subject: hi\n"
      "  X-Folded: a\n"
      "  \tb\n";
  CHECK(format_show(in) == want);

  in.state->hold = true;
  CHECK(format_show(in).find("state        on hold") != std::string::npos);
  in.env.hold_reason = "virus found";
  CHECK(format_show(in).find(
            "state        on hold: quarantined by a mail filter: virus found (not delivered") !=
        std::string::npos);
  in.env.hold_reason.clear();
  in.state->hold = false;
  in.state->rcpts[0].state = 1;
  CHECK(format_show(in).find("state        being delivered\n") != std::string::npos);
  CHECK(format_show(in).find("  <alice@peer.test>  in delivery  4.4.1") != std::string::npos);

  // Without the queue manager: the envelope's recipients, and why there is no state.
  in.state.reset();
  in.no_state = "queue manager is not running";
  in.header_cut = true;
  std::string s = format_show(in);
  CHECK(s.find("state        unknown: queue manager is not running\n") != std::string::npos);
  CHECK(s.find("recipients\n  <alice@peer.test>\n  <bob@peer.test>\nheader\n") != std::string::npos);
  CHECK(s.ends_with("  [...]\n"));
  in.env.sender = "";
  CHECK(format_show(in).find("sender       <> (null sender)\n") != std::string::npos);
}
