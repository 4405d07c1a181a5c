// BDAT (RFC 3030) in the session, without sockets: chunks pipelined and split at every
// point, the octets of refused chunks read and discarded, DATA and BDAT not mixed, a
// chunk size that cannot be read closing the connection.
#include <doctest/doctest.h>

#include "smtpd/session.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using common::mail::Outcome;

namespace {

using Harness = testing::SessionHarness;

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const char* kEnvelope = "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\n";

// The message text after the Received header the session writes first.
std::string body(const Harness& h) {
  std::size_t p = h.message.find("\n\t");
  p = h.message.find('\n', h.message.find(';', p));
  return h.message.substr(p + 1);
}

}  // namespace

TEST_CASE("RFC 3030 2: EHLO offers CHUNKING") {
  Harness h;
  CHECK(h.send("EHLO c.test\r\n").find("250-CHUNKING\r\n") != std::string::npos);
}

TEST_CASE("RFC 3030 2: chunks, each acknowledged, the LAST one answered after the queue manager") {
  Harness h;
  h.send(kEnvelope);
  CHECK(h.send("BDAT 12\r\nSubject: t\r\n") == "250 2.0.0 Ok: 12 octets received\r\n");
  CHECK(h.s.in_data() == false);
  CHECK(h.send("BDAT 9 LAST\r\n\r\n.body\r\nNOOP\r\n").empty());  // NOOP waits for the verdict
  REQUIRE(h.submissions == 1);
  CHECK(body(h) == "Subject: t\n\n.body\n");  // no dot-stuffing with BDAT
  CHECK(h.answer(Outcome::kOk) == "250 2.0.0 Ok: queued as " + h.submitted_id + "\r\n250 2.0.0 Ok\r\n");
}

TEST_CASE("RFC 3030 2: the same message whatever the chunk sizes and however the input is split") {
  const std::string text = "From: a@b.test\r\n\r\nline one\r\n.\r\n..two\r\nend\r\n";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    CAPTURE(cut);
    Harness h;
    std::string in = std::string(kEnvelope) + "BDAT " + std::to_string(cut) + "\r\n" + text.substr(0, cut) +
                     "BDAT " + std::to_string(text.size() - cut) + " LAST\r\n" + text.substr(cut);
    std::string replies;
    for (std::size_t i = 0; i < in.size(); i += 7) replies += h.send(std::string_view(in).substr(i, 7));
    REQUIRE(h.submissions == 1);
    CHECK(body(h) == "From: a@b.test\n\nline one\n.\n..two\nend\n");
    CHECK(replies.find("250 2.0.0 Ok: " + std::to_string(cut) + " octets received\r\n") != std::string::npos);
  }
}

TEST_CASE("RFC 3030 2: BDAT 0 LAST ends the message; a last line without CRLF gets one") {
  Harness h;
  h.send(kEnvelope);
  h.send("BDAT 6\r\nno end");
  h.send("BDAT 0 LAST\r\n");
  REQUIRE(h.submissions == 1);
  CHECK(body(h) == "no end\n");
}

TEST_CASE("RFC 3030 4.2: a chunk without a transaction is read and discarded, then refused") {
  Harness h;
  h.send("EHLO c.test\r\n");
  // The QUIT inside the chunk is data, not a command.
  CHECK(h.send("BDAT 6\r\nQUIT\r\nNOOP\r\n") == "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
  CHECK_FALSE(h.closed);
  h.send("MAIL FROM:<a@b.test>\r\n");
  CHECK(h.send("BDAT 4 LAST\r\nRSET") == "503 5.5.1 Error: need RCPT command\r\n");
  CHECK(h.submissions == 0);
}

TEST_CASE("RFC 3030 2: DATA after BDAT in the same transaction is 503") {
  Harness h;
  h.send(kEnvelope);
  h.send("BDAT 3\r\nab\n");
  CHECK(starts(h.send("DATA\r\n"), "503 5.5.1"));
  CHECK(starts(h.send("RSET\r\n"), "250"));
  CHECK(h.submissions == 0);
}

TEST_CASE("RFC 3030 2: a chunk size that cannot be read closes the connection") {
  for (const char* cmd :
       {"BDAT\r\n", "BDAT x LAST\r\n", "BDAT 99999999999999999999999\r\n", "BDAT 1 FIRST\r\n"}) {
    CAPTURE(cmd);
    Harness h;
    h.send(kEnvelope);
    CHECK(starts(h.send(std::string(cmd) + "QUIT\r\n"), "501 5.5.4"));
    CHECK(h.closed);
  }
}

TEST_CASE("RFC 1870 with RFC 3030 4.2: over the size limit the transaction fails at that chunk") {
  Harness h;  // message_size_limit 10000
  h.send(kEnvelope);
  std::string big;
  for (int i = 0; i < 90; ++i) big += std::string(98, 'x') + "\r\n";  // 9000 octets
  CHECK(starts(h.send("BDAT 9000\r\n" + big), "250 2.0.0"));
  // The second chunk passes the limit; the third, already pipelined, is discarded.
  std::string r = h.send("BDAT 9000\r\n" + big + "BDAT 5 LAST\r\nabc\r\nNOOP\r\n");
  CHECK(starts(r, "552 5.3.4"));
  CHECK(r.find("503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n") != std::string::npos);
  CHECK(h.submissions == 0);
}

TEST_CASE("RFC 5321 2.3.8 holds for BDAT: a bare LF refuses the message at LAST") {
  Harness h;
  h.send(kEnvelope);
  CHECK(starts(h.send("BDAT 4 LAST\r\na\nb\r\n"), "554 5.6.0"));
  CHECK(h.submissions == 0);
}

TEST_CASE("inside a chunk the data timeout applies (RFC 5321 4.5.3.2.5)") {
  Harness h;
  h.send(kEnvelope);
  h.send("BDAT 100\r\nsome");
  CHECK(h.s.in_data());
  CHECK(starts(h.take(h.s.timeout()), "421 4.4.2"));
  CHECK(h.closed);
}
