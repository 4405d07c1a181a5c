// The session's stages for the mail filters without sockets: what it asks the I/O layer
// at connect, HELO, MAIL, RCPT and the end of DATA, that the reply waits for the
// filters' verdict, that a refusal is the SMTP reply to that command, and that a message
// the filters changed is queued as changed. Without filters configured none of this runs.
#include <doctest/doctest.h>

#include "common/spool/queue_file.hpp"
#include "smtpd/session.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using Stage = MilterRequest::Stage;
using Action = MilterVerdict::Action;

namespace {

struct Filtered {
  Filtered() : cfg(config()), s(cfg, testing::test_client(), backend) {}
  static SessionConfig config() {
    SessionConfig c = testing::test_config();
    c.milters = true;
    return c;
  }
  std::string take(Output o) {
    if (o.milter) req = std::move(o.milter);
    if (o.submit) {
      file = testing::read_all(o.submit->fd.get());
      auto env = common::spool::read_envelope(o.submit->fd.get());
      REQUIRE(env.is_ok());
      envelope = env->env;
      message = file.substr(env->data_offset);
    }
    return o.bytes;
  }
  std::string pass() { return take(s.milter_done(MilterVerdict())); }
  std::string refuse(int code, const char* status, const char* text) {
    MilterVerdict v;
    v.action = code >= 500 ? Action::kReject : Action::kTempfail;
    v.reply = make_reply(code, status, text);
    return take(s.milter_done(v));
  }
  testing::TestBackend backend;
  SessionConfig cfg;
  Session s;
  std::optional<MilterRequest> req;
  std::string file, message;
  common::spool::Envelope envelope;
};

}  // namespace

TEST_CASE("each stage waits for the filters; a refusal is that command's reply") {
  Filtered f;
  CHECK(f.take(f.s.start()).empty());  // no greeting before the filters' verdict
  REQUIRE(f.req);
  CHECK(f.req->stage == Stage::kConnect);
  CHECK(f.req->args == std::vector<std::string>{"[192.0.2.7]", "192.0.2.7"});
  CHECK_FALSE(f.s.wants_input());
  CHECK(f.take(f.s.feed("EHLO client.example\r\n")).empty());  // held meanwhile
  CHECK(f.pass().starts_with("220 mx.example.test ESMTP"));
  // The pipelined EHLO went to the filters once the greeting was out.
  REQUIRE(f.req->stage == Stage::kHelo);
  CHECK(f.pass().starts_with("250-mx.example.test"));
  f.req.reset();
  CHECK(f.take(f.s.feed("MAIL FROM:<a@example.net> SIZE=100\r\n")).empty());
  REQUIRE(f.req->stage == Stage::kMail);
  CHECK(f.req->args == std::vector<std::string>{"<a@example.net>", "SIZE=100"});
  CHECK(f.refuse(550, "5.7.1", "Sender refused") == "550 5.7.1 Sender refused\r\n");
  // No transaction: RCPT needs MAIL.
  CHECK(f.take(f.s.feed("RCPT TO:<alice@example.test>\r\n")).starts_with("503"));
  f.take(f.s.feed("MAIL FROM:<a@example.net>\r\n"));
  CHECK(f.pass() == "250 2.1.0 Ok\r\n");
  f.take(f.s.feed("RCPT TO:<alice@example.test>\r\n"));
  REQUIRE(f.req->stage == Stage::kRcpt);
  CHECK(f.refuse(451, "4.7.1", "Later") == "451 4.7.1 Later\r\n");
  f.take(f.s.feed("RCPT TO:<bob@example.test>\r\n"));
  CHECK(f.pass() == "250 2.1.5 Ok\r\n");
  CHECK(f.take(f.s.feed("DATA\r\n")).starts_with("354"));
  f.req.reset();
  CHECK(f.take(f.s.feed("Subject: hi\r\n\r\nbody\r\n.\r\n")).empty());
  REQUIRE(f.req);
  CHECK(f.req->stage == Stage::kMessage);
  CHECK(f.req->fd >= 0);
  CHECK(f.req->eom_macros.size() == 1);
  CHECK(f.refuse(554, "5.7.1", "Gtube pattern") == "554 5.7.1 Gtube pattern\r\n");
  CHECK(f.file.empty());  // nothing queued
}

TEST_CASE("a message the filters changed is queued as changed") {
  Filtered f;
  f.take(f.s.start());
  f.pass();
  f.take(f.s.feed("EHLO c\r\n"));
  f.pass();
  f.take(f.s.feed("MAIL FROM:<a@example.net>\r\n"));
  f.pass();
  f.take(f.s.feed("RCPT TO:<alice@example.test>\r\n"));
  f.pass();
  f.take(f.s.feed("DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"));
  REQUIRE(f.req);
  auto pe = common::spool::read_envelope(f.req->fd);
  REQUIRE(pe.is_ok());
  MilterVerdict v;
  v.edited = true;
  v.envelope = pe->env;
  v.envelope.sender = "new@example.net";
  v.envelope.recipients = {"bob@example.test"};
  v.message = "Subject: hi\nX-Spam: Yes\n\nnew body\n";
  f.take(f.s.milter_done(v));
  CHECK(f.envelope.sender == "new@example.net");
  CHECK(f.envelope.recipients == std::vector<std::string>{"bob@example.test"});
  CHECK(f.envelope.queue_id == pe->env.queue_id);
  CHECK(f.message == "Subject: hi\nX-Spam: Yes\n\nnew body\n");

  // Every recipient removed: discarded with 250, nothing queued.
  Filtered g;
  g.take(g.s.start());
  g.pass();
  for (const char* line :
       {"HELO c\r\n", "MAIL FROM:<a@example.net>\r\n", "RCPT TO:<alice@example.test>\r\n"}) {
    g.take(g.s.feed(line));
    g.pass();
  }
  g.take(g.s.feed("DATA\r\nSubject: x\r\n\r\n.\r\n"));
  v.envelope.recipients.clear();
  CHECK(g.take(g.s.milter_done(v)) == "250 2.0.0 Ok: discarded\r\n");
  CHECK(g.file.empty());
}

TEST_CASE("refused at connect: greeted, then every MAIL gets the refusal") {
  Filtered f;
  f.take(f.s.start());
  CHECK(f.refuse(451, "4.7.1", "Service unavailable - try again later").starts_with("220 "));
  f.take(f.s.feed("HELO c\r\n"));
  f.pass();
  f.req.reset();
  CHECK(f.take(f.s.feed("MAIL FROM:<a@example.net>\r\n")) ==
        "451 4.7.1 Service unavailable - try again later\r\n");
  CHECK_FALSE(f.req);
}

TEST_CASE("without filters no stage is asked for") {
  testing::TestBackend b;
  Session s(testing::test_config(), testing::test_client(), b);
  Output o = s.start();
  CHECK_FALSE(o.milter);
  CHECK(o.bytes.starts_with("220 "));
  o = s.feed("HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.test>\r\n");
  CHECK_FALSE(o.milter);
  CHECK(o.bytes == "250 mx.example.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}
