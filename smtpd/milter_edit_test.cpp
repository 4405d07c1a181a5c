// Unit tests for the filters' changes to a message (milter_edit.hpp): each kind, the
// header index rules Postfix follows (a change of a missing header adds it), and the
// refusals that keep a filter from breaking the message (bare CR or LF in a header).
#include "smtpd/milter_edit.hpp"

#include <doctest/doctest.h>

using namespace smtpd;
using common::milter::Reply;
using K = Reply::Kind;

namespace {

Reply mod(K kind, std::string name, std::string value = "", std::uint32_t index = 0) {
  Reply r;
  r.kind = kind;
  r.name = std::move(name);
  r.value = std::move(value);
  r.index = index;
  return r;
}

common::spool::Envelope env() {
  common::spool::Envelope e;
  e.sender = "a@example.net";
  e.recipients = {"b@example.test", "c@example.test"};
  return e;
}

const std::string kMsg = "Received: x\n\tfolded\nSubject: one\nX-A: 1\nX-A: 2\n\nbody\n";

}  // namespace

TEST_CASE("split_message: fields with their folding, then the body") {
  SplitMessage m = split_message(kMsg);
  REQUIRE(m.headers.size() == 4);
  CHECK(m.headers[0].name == "Received");
  CHECK(m.headers[0].value == " x\n\tfolded");
  CHECK(m.headers[1].value == " one");
  CHECK(m.body == "body\n");
  CHECK(split_message("no header line\nbody\n").headers.empty());
  CHECK(split_message("A: b\n").body.empty());
}

TEST_CASE("header changes") {
  std::string m = kMsg;
  auto e = env();
  REQUIRE(apply_edits({mod(K::kAddHeader, "X-Spam", "Yes"), mod(K::kInsHeader, "X-Top", "t", 0),
                       mod(K::kChgHeader, "x-a", "two", 2), mod(K::kChgHeader, "X-A", "", 1),
                       mod(K::kChgHeader, "X-Missing", " added", 1), mod(K::kChgHeader, "X-Gone", "", 1),
                       mod(K::kAddHeader, "X-Fold", "a\r\n\tb")},
                      &m, &e)
              .is_ok());
  CHECK(m ==
        "X-Top: t\nReceived: x\n\tfolded\nSubject: one\nx-a: two\nX-Spam: Yes\nX-Missing: added\n"
        "X-Fold: a\n\tb\n\nbody\n");
}

TEST_CASE("a spam flag a filter writes is the junk verdict; the sender's own is not") {
  auto e = env();
  std::string m = "X-Spam: Yes\nSubject: s\n\nbody\n";  // the sender's: ignored
  REQUIRE(apply_edits({mod(K::kAddHeader, "X-Other", "Yes")}, &m, &e).is_ok());
  CHECK_FALSE(e.junk);
  REQUIRE(apply_edits({mod(K::kChgHeader, "X-Spam", " No", 1)}, &m, &e).is_ok());
  CHECK_FALSE(e.junk);
  // rspamd's "add header" action: a change at index 1 of a header that may be missing.
  REQUIRE(apply_edits({mod(K::kChgHeader, "X-Spam", " Yes", 1)}, &m, &e).is_ok());
  CHECK(e.junk);
  auto e2 = env();
  REQUIRE(apply_edits({mod(K::kInsHeader, "X-Spam-Flag", "YES", 0)}, &m, &e2).is_ok());
  CHECK(e2.junk);
  auto e3 = env();
  e3.junk = true;  // an earlier verdict (DMARC quarantine) stays
  REQUIRE(apply_edits({mod(K::kAddHeader, "X-Spam", "No")}, &m, &e3).is_ok());
  CHECK(e3.junk);
}

TEST_CASE("quarantine: the filter's reason becomes the envelope's hold reason, one printable line") {
  auto e = env();
  std::string m = kMsg;
  REQUIRE(apply_edits({mod(K::kQuarantine, "virus: Eicar-Test-Signature")}, &m, &e).is_ok());
  CHECK(e.hold_reason == "virus: Eicar-Test-Signature");
  CHECK(m == kMsg);  // the message itself is unchanged
  auto e2 = env();
  REQUIRE(apply_edits({mod(K::kQuarantine, "two\r\nlines")}, &m, &e2).is_ok());
  CHECK(e2.hold_reason == "two??lines");
  auto e3 = env();
  REQUIRE(apply_edits({mod(K::kQuarantine, "")}, &m, &e3).is_ok());
  CHECK(e3.hold_reason == "quarantined by a mail filter");
  auto e4 = env();
  REQUIRE(apply_edits({mod(K::kQuarantine, std::string(1000, 'r'))}, &m, &e4).is_ok());
  CHECK(e4.hold_reason.size() == common::spool::kMaxHoldReason);
}

TEST_CASE("envelope changes and a new body") {
  std::string m = kMsg;
  auto e = env();
  REQUIRE(apply_edits({mod(K::kChgFrom, "<new@example.net>"), mod(K::kAddRcpt, "<d@example.test>"),
                       mod(K::kAddRcpt, "<B@Example.test>"), mod(K::kDelRcpt, "<c@example.test>"),
                       mod(K::kReplBody, "", "new\r\nbo"), mod(K::kReplBody, "", "dy\r"),
                       mod(K::kReplBody, "", "\nend")},
                      &m, &e)
              .is_ok());
  CHECK(e.sender == "new@example.net");
  CHECK(e.recipients == std::vector<std::string>{"b@example.test", "d@example.test"});
  CHECK(m == "Received: x\n\tfolded\nSubject: one\nX-A: 1\nX-A: 2\n\nnew\nbody\nend\n");
  std::string n = kMsg;
  REQUIRE(apply_edits({mod(K::kChgFrom, "<>")}, &n, &e).is_ok());
  CHECK(e.sender.empty());
}

TEST_CASE("refused: header injection, bad names, bad addresses, bare CR in a body") {
  for (const auto& r : std::vector<Reply>{
           mod(K::kAddHeader, "X-Bad", "a\r\nX-Injected: yes"),
           mod(K::kAddHeader, "X-Bad", "a\nX-Injected: yes"), mod(K::kAddHeader, "X-Bad", "a\rb"),
           mod(K::kAddHeader, "X-Bad", "a\n"), mod(K::kChgHeader, "X-A", "x\r\n\r\nbody", 1),
           mod(K::kInsHeader, "X Bad", "v"), mod(K::kAddHeader, "X:Bad", "v"), mod(K::kAddHeader, "", "v"),
           mod(K::kChgFrom, "<not an address>"), mod(K::kAddRcpt, "<>"), mod(K::kReplBody, "", "a\rb\r\n")}) {
    std::string m = kMsg;
    auto e = env();
    INFO("name=", r.name, " value=", r.value);
    CHECK_FALSE(apply_edits({mod(K::kAddHeader, "X-Before", "ok"), r}, &m, &e).is_ok());
    CHECK(m == kMsg);  // nothing half-applied
    CHECK(e.sender == "a@example.net");
  }
}
