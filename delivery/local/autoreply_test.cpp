// Tests for the auto-reply rules (RFC 3834 2), the vacation record, and the messages the
// local agent composes (RFC 3834 3, RFC 2047, the quota warning, forward trace lines).
#include "delivery/local/autoreply.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "common/io/fdio.hpp"
#include "delivery/local/notices.hpp"
#include "delivery/test_support.hpp"

using namespace delivery;
using namespace delivery::local;

namespace {

struct Case {
  common::accounts::Autoreply ar;
  std::set<std::string> known = {"alice@example.org", "sales@example.org"};
  Headers h;
  ReplyFacts f;
  explicit Case(const std::string& headers, const std::string& sender = "bob@example.net") {
    ar.enabled = true;
    ar.text = "away";
    h = parse_headers(headers, true);
    f.autoreply = &ar;
    f.user = "alice@example.org";
    f.known_as = &known;
    f.sender = sender;
    f.headers = &h;
    f.now = 1750000000;
    f.delimiter = "+";
  }
  std::string why() {
    auto r = reply_refusal(f);
    return r ? *r : "";
  }
};

}  // namespace

TEST_CASE("RFC 3834 2: who gets an auto-reply") {
  CHECK(Case("To: Alice <alice@example.org>\n").why() == "");
  CHECK(Case("To: x@y.example\nCc: sales@example.org\n").why() == "");  // an alias of hers
  CHECK(Case("To: Alice+news@example.org\n").why() == "");              // a subaddress
  CHECK(Case("Resent-To: alice@example.org\n").why() == "");
  CHECK(Case("To: someone@else.example\n").why() == "user not named in To or Cc");
  CHECK(Case("To: alice@example.org\n", "").why() == "null sender");
  CHECK(Case("To: alice@example.org\n", "MAILER-DAEMON@example.net").why() == "sender is a daemon or a list");
  CHECK(Case("To: alice@example.org\n", "owner-list@example.net").why() == "sender is a daemon or a list");
  CHECK(Case("To: alice@example.org\n", "list-request@example.net").why() == "sender is a daemon or a list");
  CHECK(Case("To: alice@example.org\n", "Alice@Example.org").why() == "mail from the user");
  CHECK(Case("To: alice@example.org\nAuto-Submitted: auto-replied\n").why() == "message is auto-submitted");
  CHECK(Case("To: alice@example.org\nAuto-Submitted: Auto-Generated (by cron)\n").why() ==
        "message is auto-submitted");
  CHECK(Case("To: alice@example.org\nAuto-Submitted: no\n").why() == "");
  CHECK(Case("To: alice@example.org\nPrecedence: Bulk\n").why() == "Precedence: bulk");
  CHECK(Case("To: alice@example.org\nPrecedence: junk\n").why() == "Precedence: junk");
  CHECK(Case("To: alice@example.org\nPrecedence: first-class\n").why() == "");
  CHECK(Case("To: alice@example.org\nList-Id: <l.example.net>\n").why() == "mailing list message");
  CHECK(Case("To: alice@example.org\nList-Unsubscribe: <mailto:x@y>\n").why() == "mailing list message");
  CHECK(Case("To: alice@example.org\nX-Auto-Response-Suppress: OOF\n").why() == "X-Auto-Response-Suppress");
  Case truncated("To: alice@example.org\n");
  truncated.h.truncated = true;
  CHECK(truncated.why() == "header block too large to check");
}

TEST_CASE("the configured period") {
  Case c("To: alice@example.org\n");
  c.ar.start = c.f.now + 10;
  CHECK(c.why() == "auto-reply period not started");
  c.ar.start = c.f.now - 10;
  c.ar.end = c.f.now - 1;
  CHECK(c.why() == "auto-reply period over");
  c.ar.end = c.f.now + 1;
  CHECK(c.why() == "");
  c.ar.enabled = false;
  CHECK(c.why() == "auto-reply off");
}

TEST_CASE("vacation record: once per sender per interval, pruned, case-insensitive") {
  testing::TempDir d;
  REQUIRE(::mkdir((d.path + "/tmp").c_str(), 0770) == 0);
  VacationLog log(d.path);
  const std::int64_t t0 = 1750000000, day = 86400;
  CHECK_FALSE(*log.recently_answered("bob@example.net", t0, 7));
  REQUIRE(log.record("Bob@Example.net", t0, 7).is_ok());
  CHECK(*log.recently_answered("bob@example.net", t0 + 6 * day, 7));
  CHECK_FALSE(*log.recently_answered("bob@example.net", t0 + 7 * day + 1, 7));
  CHECK_FALSE(*log.recently_answered("carol@example.net", t0, 7));
  REQUIRE(log.record("carol@example.net", t0 + 8 * day, 7).is_ok());
  auto text = common::io::read_file(d.path + "/" + kVacationFile);
  REQUIRE(text.is_ok());
  CHECK(*text == std::to_string(t0 + 8 * day) + " carol@example.net\n");  // bob's expired entry went
  struct stat st;
  REQUIRE(::stat((d.path + "/" + kVacationFile).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
}

TEST_CASE("vacation record: a FIFO or symlink planted by a group member is refused at once") {
  testing::TempDir d;
  REQUIRE(::mkdir((d.path + "/tmp").c_str(), 0770) == 0);
  std::string path = d.path + "/" + kVacationFile;
  REQUIRE(::mkfifo(path.c_str(), 0660) == 0);
  VacationLog log(d.path);
  // A blocking open(2) of the FIFO would stall the delivery loop; the alarm turns that
  // into EINTR after two seconds, which the elapsed time below then catches.
  struct sigaction sa {
  }, old{};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGALRM, &sa, &old);
  ::alarm(2);
  auto t0 = std::chrono::steady_clock::now();
  auto r = log.recently_answered("bob@example.net", 1750000000, 7);
  auto took = std::chrono::steady_clock::now() - t0;
  ::alarm(0);
  ::sigaction(SIGALRM, &old, nullptr);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.message().find("FIFO") != std::string::npos);
  CHECK(took < std::chrono::seconds(1));
  ::unlink(path.c_str());
  REQUIRE(::symlink("/etc/passwd", path.c_str()) == 0);
  auto s = log.recently_answered("bob@example.net", 1750000000, 7);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.message().find("symbolic link") != std::string::npos);
  // record() replaces whatever is there with a regular file of its own.
  REQUIRE(log.record("bob@example.net", 1750000000, 7).is_ok());
  CHECK(*log.recently_answered("bob@example.net", 1750000001, 7));
}

TEST_CASE("header text: ASCII as is, UTF-8 as RFC 2047 encoded-words") {
  CHECK(header_text("Out of office") == "Out of office");
  CHECK(header_text("line\nbreak") == "line break");
  CHECK(header_text("Abwesend") == "Abwesend");
  std::string enc = header_text(
      "Bin nicht da \xe2\x80\x93 Gr\xc3\xbc\xc3\x9f"
      "e");
  CHECK(enc.starts_with("=?UTF-8?B?"));
  CHECK(enc.ends_with("?="));
  std::string longer = header_text(std::string(30, 'x') + "\xc3\xa9" + std::string(60, 'y'));
  CHECK(longer.find("\n ") != std::string::npos);  // folded into several words
  for (std::size_t pos = 0; pos < longer.size();) {
    std::size_t nl = longer.find('\n', pos);
    std::string line = longer.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    CHECK(line.size() <= 76);  // RFC 2047 2: at most 75 per encoded-word
    pos = nl == std::string::npos ? longer.size() : nl + 1;
  }
}

TEST_CASE("the reply: RFC 3834 3.1 fields and the text") {
  auto h = parse_headers("Subject: Meeting\nMessage-ID: <m1@x>\nReferences: <r0@x> <r1@x>\n", true);
  ReplyInput in;
  in.from = "alice@example.org";
  in.to = "bob@example.net";
  in.text = "Back on Monday.\r\nRegards";
  in.original = &h;
  in.hostname = "mx.example.org";
  in.new_id = "0123456789ABCDEF";
  in.now = 1750000000;
  std::string r = compose_reply(in);
  CHECK(r.starts_with("From: <alice@example.org>\nTo: <bob@example.net>\nSubject: Auto: Meeting\nDate: "));
  CHECK(r.find("\nMessage-ID: <0123456789ABCDEF.autoreply@mx.example.org>\n") != std::string::npos);
  CHECK(r.find("\nIn-Reply-To: <m1@x>\n") != std::string::npos);
  CHECK(r.find("\nReferences: <r0@x>\n <r1@x>\n <m1@x>\n") != std::string::npos);
  CHECK(r.find("\nAuto-Submitted: auto-replied\n") != std::string::npos);
  CHECK(r.find("\nContent-Transfer-Encoding: 7bit\n") != std::string::npos);
  CHECK(r.ends_with("\n\nBack on Monday.\nRegards\n"));
  in.subject = "Abwesenheit \xc3\xbc";
  in.text = "\xc3\xbc";
  std::string u = compose_reply(in);
  CHECK(u.find("\nSubject: =?UTF-8?B?") != std::string::npos);
  CHECK(u.find("\nContent-Transfer-Encoding: 8bit\n") != std::string::npos);
  auto none = parse_headers("From: x@y\n", true);
  in.original = &none;
  in.subject = "";
  std::string n = compose_reply(in);
  CHECK(n.find("\nSubject: Auto: (no subject)\n") != std::string::npos);
  CHECK(n.find("In-Reply-To") == std::string::npos);
  CHECK(n.find("References") == std::string::npos);
}

TEST_CASE("body normalisation, quota warning, forward trace") {
  CHECK(normalize_body("a\r\nb") == "a\nb\n");
  CHECK(normalize_body(std::string(1000, 'x')) == std::string(998, 'x') + "\n" + "xx\n");
  QuotaWarningInput q;
  q.user = "alice@example.org";
  q.used = 9500;
  q.quota = 10000;
  q.percent = 90;
  q.hostname = "mx.example.org";
  q.new_id = "ID";
  std::string w = compose_quota_warning(q);
  CHECK(
      w.starts_with("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: <alice@example.org>\n"
                    "Subject: Your mailbox is 95% full\n"));
  CHECK(w.find("\nAuto-Submitted: auto-generated\n") != std::string::npos);
  CHECK(w.find("falls below 90%") != std::string::npos);
  std::string t =
      forward_trace("mx.example.org", "ID", {"a@b.example"}, {"x@example.org", "y@example.org"}, 0);
  CHECK(t.starts_with("Received: by mx.example.org (Mailbag local) id ID\n\tfor <a@b.example>; "));
  CHECK(t.ends_with("\nDelivered-To: x@example.org\nDelivered-To: y@example.org\n"));
  std::string t2 = forward_trace("h", "ID", {"a@b.example", "c@d.example"}, {}, 0);
  CHECK(t2.find("for <") == std::string::npos);  // never discloses the other recipients
  CHECK(human_size(1536) == "2 KiB");
  CHECK(human_size(3 << 20) == "3.0 MiB");
}
