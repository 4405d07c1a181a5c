// sendmail's pure parts: the command line, reading the message (dots, CRLF, limits), the
// header section, RFC 5322 address lists, the composed text and the envelope.
#include <doctest/doctest.h>
#include <sysexits.h>

#include <cstdlib>
#include <ctime>

#include "common/config/config.hpp"
#include "mailctl/sendmail/message.hpp"
#include "mailctl/sendmail/options.hpp"
#include "mailctl/sendmail/run.hpp"

using namespace sendmail;

namespace {

Options opts(std::vector<std::string> args, const std::string& prog = "sendmail") {
  auto o = parse_options(prog, args);
  REQUIRE_MESSAGE(o.is_ok(), o.message());
  return *o;
}

std::string read_all(std::vector<std::string> chunks, bool ignore_dots, std::uint64_t limit = 1 << 20,
                     MessageReader* out = nullptr) {
  MessageReader r(ignore_dots, limit);
  for (const auto& c : chunks)
    if (!r.feed(c)) break;
  r.finish();
  if (out) *out = r;
  return r.text();
}

std::vector<std::string> keys(const std::vector<common::mail::Address>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.str());
  return out;
}

}  // namespace

TEST_CASE("options: the ones cron, mail(1) and scripts use") {
  Options o = opts({"-oi", "-f", "root@vm", "-t"});  // what mailutils' mail(1) passes
  CHECK(o.ignore_dots);
  CHECK(o.extract);
  CHECK(o.sender == std::optional<std::string>("root@vm"));
  CHECK(o.recipients.empty());
  Options p =
      opts({"-FCron Daemon", "-i", "-fdaemon", "-odi", "-oem", "-v", "--", "-odd@example.org", "b@x.test"});
  CHECK(p.full_name == std::optional<std::string>("Cron Daemon"));
  CHECK(p.sender == std::optional<std::string>("daemon"));
  CHECK(p.recipients == std::vector<std::string>{"-odd@example.org", "b@x.test"});
  Options q = opts({"-N", "never", "-R", "hdrs", "-V", "id", "-Bx", "-o", "i", "a@x.test"});
  CHECK(q.ignore_dots);
  CHECK(q.recipients == std::vector<std::string>{"a@x.test"});
  CHECK(opts({"-C", "/tmp/x.conf", "a@x.test"}).config == std::optional<std::string>("/tmp/x.conf"));
  CHECK(opts({}, "newaliases").mode == Mode::kNewAliases);
  CHECK(opts({"-bi"}).mode == Mode::kNewAliases);
  CHECK(opts({"-r", "<>", "a@x.test"}).sender == std::optional<std::string>("<>"));
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"-bp"}, {"-q"}, {"-q30m"}, {"-bs"}, {"-bd"}, {"-f"}, {"-Z"}, {"--help"}}) {
    CAPTURE(bad[0]);
    CHECK_FALSE(parse_options("sendmail", bad).is_ok());
  }
}

TEST_CASE("reading: CRLF becomes LF; a lone dot ends the message unless -i") {
  CHECK(read_all({"a\r\nb\r\n.\r\nc\n"}, false) == "a\nb\n");
  CHECK(read_all({"a\r\nb\r\n.\r\nc\n"}, true) == "a\nb\n.\nc\n");
  CHECK(read_all({"a\n..\n. \nb"}, false) == "a\n..\n. \nb\n");  // only "." alone, last line gets LF
  // Any split of the input gives the same text.
  std::string in = "Subject: x\r\n\r\nline\r\n.\r\nafter\r\n";
  for (std::size_t i = 0; i <= in.size(); ++i) {
    CAPTURE(i);
    CHECK(read_all({in.substr(0, i), in.substr(i)}, false) == "Subject: x\n\nline\n");
    CHECK(read_all({in.substr(0, i), in.substr(i)}, true) == "Subject: x\n\nline\n.\nafter\n");
  }
}

TEST_CASE("reading: size limit and NUL") {
  MessageReader r(true, 10);
  CHECK(r.feed("12345\n"));
  CHECK_FALSE(r.feed("67890\n"));
  CHECK(r.too_big());
  MessageReader n(true, 100);
  n.feed(std::string("a\0b\n", 4));
  n.finish();
  CHECK(n.nul());
  MessageReader one_line(true, 10);
  CHECK_FALSE(one_line.feed(std::string(20, 'x')));  // no line end yet, still too big
  CHECK(one_line.too_big());
}

TEST_CASE("header section: fields, folding, where the body starts") {
  Message m = split_message("From: a@x.test\nTo: b@x.test,\n c@x.test\nSubject: hi\n\nbody\n\nmore\n");
  REQUIRE(m.headers.size() == 3);
  CHECK(m.headers[1].name == "To");
  CHECK(m.headers[1].text == "To: b@x.test,\n c@x.test\n");
  CHECK(m.headers[1].value() == "b@x.test, c@x.test");
  CHECK(m.body == "body\n\nmore\n");
  CHECK(m.find("SUBJECT") != nullptr);
  CHECK(m.find("Cc") == nullptr);
  // Not a header at all: everything is body.
  Message n = split_message("cron: job done\nsecond line\n");
  CHECK(n.headers.size() == 1);                 // "cron:" is a valid field name...
  Message o = split_message("job done: ok\n");  // ... "job done" is not (a space)
  CHECK(o.headers.empty());
  CHECK(o.body == "job done: ok\n");
  Message p = split_message(" indented first\nx\n");
  CHECK(p.headers.empty());
  // A header section that ends without a blank line.
  Message q = split_message("Subject: a\nno colon here\n");
  CHECK(q.headers.size() == 1);
  CHECK(q.body == "no colon here\n");
}

TEST_CASE("RFC 5322 3.4 address lists") {
  auto l = parse_address_list(
      "\"Smith, John\" <john@x.test>, jane@x.test (Jane), Team: a@x.test, <b@x.test>;, root, "
      "<@relay.test:c@x.test>, \"odd local\"@x.test, undisclosed-recipients:;",
      "local.test");
  REQUIRE_MESSAGE(l.is_ok(), l.message());
  CHECK(keys(*l) == std::vector<std::string>{"john@x.test", "jane@x.test", "a@x.test", "b@x.test",
                                             "root@local.test", "c@x.test", "\"odd local\"@x.test"});
  CHECK(parse_address_list("", "local.test")->empty());
  CHECK(parse_address_list(" , ,", "local.test")->empty());
  for (const char* bad :
       {"a@@x.test", "<a@x.test", "\"open", "(open comment a@x.test", "a@x..test", "<>", "a b@x.test"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_address_list(bad, "local.test").is_ok());
  }
}

TEST_CASE("display names: atoms as is, specials quoted, non-ASCII encoded, controls dropped") {
  CHECK(display_name("Cron Daemon") == "Cron Daemon");
  CHECK(display_name("Smith, John") == "\"Smith, John\"");
  CHECK(display_name("a \"b\" \\c") == "\"a \\\"b\\\" \\\\c\"");
  CHECK(display_name("J\xc3\xb6rg") == "=?UTF-8?B?SsO2cmc=?=");
  CHECK(display_name("evil\r\nBcc: x@y.test") == "\"evilBcc: x@y.test\"");
  CHECK(display_name("   ") == "");
  CHECK(display_name("\xff\xfe") == "");
  std::string long_name(100, 'a');
  long_name += "\xc3\xa9";
  std::string enc = display_name(long_name);
  for (std::size_t pos = 0; (pos = enc.find("=?UTF-8?B?", pos)) != std::string::npos; ++pos) {
    std::size_t end = enc.find("?=", pos + 10);
    REQUIRE(end != std::string::npos);
    CHECK(end + 2 - pos <= 75);  // RFC 2047 2
  }
}

TEST_CASE("compose: Received on top, Bcc removed, missing From/Date/Message-ID added") {
  const char* tz = std::getenv("TZ");
  std::string saved = tz ? tz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  Compose c;
  c.hostname = "mail.example.test";
  c.queue_id = "0123456789ABCDEF";
  c.time = 1700000000;
  c.uid = 1000;
  c.from = "alice@example.test";
  c.full_name = "Alice A.";
  std::string out =
      compose(split_message("To: b@x.test\nBcc: hidden@x.test,\n more@x.test\nSubject: s\n\nbody\n"), c);
  CHECK(out ==
        "Received: by mail.example.test (Mailbag, from userid 1000)\n"
        "\tid 0123456789ABCDEF; Tue, 14 Nov 2023 22:13:20 +0000\n"
        "To: b@x.test\nSubject: s\n"
        "From: \"Alice A.\" <alice@example.test>\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
        "Message-ID: <0123456789ABCDEF@mail.example.test>\n"
        "\nbody\n");
  std::string kept = compose(split_message("from: x@y.test\ndate: whenever\nMessage-Id: <m@x>\n\nb\n"), c);
  CHECK(kept.find("\nFrom: ") == std::string::npos);
  CHECK(kept.find("\nDate: ") == std::string::npos);
  CHECK(kept.find("\nMessage-ID: ") == std::string::npos);
  CHECK(compose(split_message("no header here\n"), c).find("\n\nno header here\n") != std::string::npos);
  if (tz)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

TEST_CASE("prepare: envelope from options, -t, the caller, sendmail_domain") {
  auto cfg =
      common::config::parse("hostname = mail.example.test\nsendmail_domain = Example.TEST\n", "t.conf");
  REQUIRE(cfg.is_ok());
  Caller who{1000, "alice", "Alice"};
  Prepared p;
  std::string raw =
      "To: Bob <bob@x.test>, carol\nCc: bob@X.test\nBcc: dave@x.test\nSubject: hi\n\ntext \xc3\xa9\n";
  Exit e = prepare(opts({"-t", "extra@x.test"}), *cfg, who, raw, 1700000000, "0123456789ABCDEF", &p);
  REQUIRE_MESSAGE(e.code == EX_OK, e.error);
  CHECK(p.env.sender == "alice@example.test");
  CHECK(p.env.recipients ==
        std::vector<std::string>{"extra@x.test", "bob@x.test", "carol@example.test", "dave@x.test"});
  CHECK(p.env.protocol == "local");
  CHECK(p.env.client == "uid 1000 (alice)");
  CHECK(p.env.queue_id == "0123456789ABCDEF");
  CHECK(p.env.body_8bit);
  CHECK(p.text.find("Bcc") == std::string::npos);
  CHECK(p.text.find("\nFrom: Alice <alice@example.test>\n") != std::string::npos);

  Prepared f;
  REQUIRE(prepare(opts({"-f", "<>", "bob@x.test"}), *cfg, who, "x\n", 1, "0123456789ABCDEF", &f).code ==
          EX_OK);
  CHECK(f.env.sender.empty());
  CHECK(f.text.find("\nFrom: Alice <alice@example.test>\n") != std::string::npos);
  Prepared g;
  REQUIRE(prepare(opts({"-f", "robot@x.test", "-F", "Robot", "bob@x.test"}), *cfg, who, "x\n", 1,
                  "0123456789ABCDEF", &g)
              .code == EX_OK);
  CHECK(g.env.sender == "robot@x.test");
  CHECK(g.text.find("\nFrom: Robot <robot@x.test>\n") != std::string::npos);

  Prepared h;
  CHECK(prepare(opts({}), *cfg, who, "x\n", 1, "0123456789ABCDEF", &h).code == EX_USAGE);
  CHECK(prepare(opts({"-t"}), *cfg, who, "Subject: x\n\nx\n", 1, "0123456789ABCDEF", &h).code == EX_USAGE);
  CHECK(prepare(opts({"bad@@x"}), *cfg, who, "x\n", 1, "0123456789ABCDEF", &h).code == EX_USAGE);
  CHECK(prepare(opts({"-f", "a@b@c", "x@x.test"}), *cfg, who, "x\n", 1, "0123456789ABCDEF", &h).code ==
        EX_USAGE);
  CHECK(prepare(opts({"-t"}), *cfg, who, "To: <bad\n\nx\n", 1, "0123456789ABCDEF", &h).code == EX_DATAERR);
  // Duplicates collapse (case-insensitively), and -t adds to the command line.
  Prepared d;
  REQUIRE(prepare(opts({"-t", "BOB@x.test"}), *cfg, who, "To: bob@x.test\n\nx\n", 1, "0123456789ABCDEF", &d)
              .code == EX_OK);
  CHECK(d.env.recipients == std::vector<std::string>{"BOB@x.test"});
}

TEST_CASE("config_path: -C only when not set-group-ID for someone else") {
  // The test binary is not setgid: -C is taken.
  Options o = opts({"-C", "/tmp/t.conf", "a@x.test"});
  auto p = config_path(o);
  REQUIRE(p.is_ok());
  CHECK(*p == "/tmp/t.conf");
  CHECK(*config_path(opts({"a@x.test"})) == common::config::kDefaultPath);
  CHECK_FALSE(privileged());
}
