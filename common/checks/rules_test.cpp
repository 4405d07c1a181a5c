// Unit tests for common/checks/rules.hpp: parsing the administrator's rules, the
// wildcard matcher's edges (empty local part, UTF-8, wildcards at both ends, very long
// patterns) and the sender and client verdicts, also over 10,000 rules.
#include "common/checks/rules.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace common::checks;
using common::accounts::FilterRule;

namespace {
FilterRule rule(std::vector<std::string> w) {
  auto r = parse_rule(w, false);
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  return *r;
}
RuleSet set_of(std::vector<std::vector<std::string>> ws) {
  std::vector<FilterRule> rs;
  for (auto& w : ws) rs.push_back(rule(w));
  return RuleSet::build(rs);
}
}  // namespace

TEST_CASE("sender patterns are normalised") {
  CHECK(*normalise_sender_pattern("Spam@Example.COM") == "spam@example.com");
  CHECK(*normalise_sender_pattern("@example.com") == "*@example.com");
  CHECK(*normalise_sender_pattern("*@example.com") == "*@example.com");
  CHECK(*normalise_sender_pattern("*@*.Example.com") == "*@*.example.com");
  // RFC 5890: the domain in A-labels, also in a pattern with a wildcard elsewhere.
  CHECK(*normalise_sender_pattern("@bücher.example") == "*@xn--bcher-kva.example");
  CHECK(*normalise_sender_pattern("*@*.bücher.example") == "*@*.xn--bcher-kva.example");
  CHECK_FALSE(normalise_sender_pattern("").is_ok());
  CHECK_FALSE(normalise_sender_pattern("no-at-sign").is_ok());
  CHECK_FALSE(normalise_sender_pattern("a b@example.com").is_ok());
  CHECK_FALSE(normalise_sender_pattern("a@").is_ok());
  CHECK_FALSE(normalise_sender_pattern("a@ex..ample").is_ok());
  CHECK_FALSE(normalise_sender_pattern("a@*.bü*.example").is_ok());
  CHECK_FALSE(normalise_sender_pattern(std::string(kMaxSenderPattern, 'a') + "@x.example").is_ok());
}

TEST_CASE("glob: wildcards at both ends, empty runs, case") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*", "anything@x"));
  CHECK(glob_match("*@example.com", "@example.com"));  // empty local part
  CHECK(glob_match("*spam*", "spam"));
  CHECK(glob_match("*spam*", "xxSPAMyy@x"));
  CHECK(glob_match("a*b*c", "abc"));
  CHECK(glob_match("a*b*c", "aXbYbZc"));
  CHECK_FALSE(glob_match("a*b*c", "aXbYbZ"));
  CHECK_FALSE(glob_match("*@example.com", "a@example.com.evil"));
  CHECK_FALSE(glob_match("*@example.com", "a@notexample.com"));
  CHECK_FALSE(glob_match("*@.example.com", "a@example.com"));
  CHECK(glob_match("**@**", "@"));
  CHECK_FALSE(glob_match("", "a"));
  CHECK(glob_match("", ""));
}

TEST_CASE("glob: UTF-8 local parts compare octet by octet, ASCII folded only") {
  CHECK(glob_match("jörg@example.com", "jörg@example.com"));
  CHECK(glob_match("j*g@example.com", "jörg@example.com"));
  CHECK_FALSE(glob_match("jörg@example.com", "JÖRG@example.com"));  // not ASCII: not folded
  CHECK(glob_match("jörg@example.com", "JöRG@EXAMPLE.com"));
}

TEST_CASE("glob: very long patterns and subjects stay bounded") {
  std::string p(5000, '*');
  p += "b";
  std::string t(5000, 'a');
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(glob_match(p, t));
  CHECK(glob_match(p, t + "b"));
  std::string p2;
  for (int i = 0; i < 200; ++i) p2 += "*a";
  p2 += "*b";
  CHECK_FALSE(glob_match(p2, std::string(400, 'a')));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("sender subjects: lower case, A-label domain, null sender never matches") {
  CHECK(sender_subject("Foo@Bücher.Example") == "foo@xn--bcher-kva.example");
  CHECK(sender_subject("") == "");
}

TEST_CASE("parse_rule: kinds, actions, scopes, errors") {
  auto r = parse_rule({"sender", "@Spam.Example", "reject", "Example.ORG"}, false);
  REQUIRE(r.is_ok());
  CHECK(r->pattern == "*@spam.example");
  CHECK(r->scope == "example.org");
  CHECK(describe_rule(*r) == "sender *@spam.example reject example.org");
  CHECK_FALSE(parse_rule({"sender", "*", "reject"}, false).is_ok());
  CHECK_FALSE(parse_rule({"sender", "a@b.example"}, false).is_ok());
  CHECK(parse_rule({"sender", "a@b.example"}, true).is_ok());
  CHECK(parse_rule({"sender", "a@b.example", "example.org"}, true)->scope == "example.org");
  CHECK_FALSE(parse_rule({"sender", "a@b.example", "junk"}, false).is_ok());
  CHECK_FALSE(parse_rule({"sender", "a@b.example", "allow", "*.example"}, false).is_ok());
  CHECK_FALSE(parse_rule({"sender", "a@b.example", "allow", "x.example", "more"}, false).is_ok());
  auto c = parse_rule({"client", "192.0.2.77/24", "reject"}, false);
  REQUIRE(c.is_ok());
  CHECK(c->pattern == "192.0.2.0/24");
  CHECK_FALSE(parse_rule({"client", "192.0.2.0/24", "allow"}, false).is_ok());
  CHECK_FALSE(parse_rule({"client", "300.0.0.1", "reject"}, false).is_ok());
  auto w = parse_rule({"word", "Cheap PILLS", "junk"}, false);
  REQUIRE(w.is_ok());
  CHECK(w->pattern == "cheap pills");
  CHECK(describe_rule(*w) == "word 'cheap pills' junk");
  CHECK_FALSE(parse_rule({"word", "  ", "reject"}, false).is_ok());
  CHECK_FALSE(parse_rule({"word", std::string(kMaxPhrase + 1, 'x'), "reject"}, false).is_ok());
  CHECK_FALSE(parse_rule({"word", "a\nb", "reject"}, false).is_ok());
  auto a = parse_rule({"attachment-size", "1000"}, false);
  REQUIRE(a.is_ok());
  CHECK(describe_rule(*a) == "attachment-size 1000");
  CHECK_FALSE(parse_rule({"attachment-size", "0"}, false).is_ok());
  CHECK_FALSE(parse_rule({"attachment-size", "12k"}, false).is_ok());
  CHECK_FALSE(parse_rule({"attachment-size", "-1"}, false).is_ok());
  CHECK(parse_rule({"attachment-size"}, true).is_ok());
  CHECK_FALSE(parse_rule({"colour", "red"}, false).is_ok());
  CHECK_FALSE(parse_rule({}, false).is_ok());
}

TEST_CASE("sender verdicts: allow wins, scopes apply at RCPT") {
  RuleSet s = set_of({{"sender", "@spam.example", "reject"},
                      {"sender", "friend@spam.example", "allow"},
                      {"sender", "*@partner.example", "reject"},
                      {"sender", "boss@partner.example", "allow", "example.org"},
                      {"sender", "*@scoped.example", "reject", "example.org"}});
  CHECK(sender_verdict(s, "x@Spam.Example", std::nullopt).rejected);
  CHECK_FALSE(sender_verdict(s, "friend@spam.example", std::nullopt).rejected);
  CHECK(sender_verdict(s, "friend@spam.example", std::nullopt).allowed);
  CHECK_FALSE(sender_verdict(s, "", std::nullopt).rejected);  // bounces
  CHECK_FALSE(sender_verdict(s, "x@other.example", std::nullopt).rejected);
  // A scoped allow lets MAIL pass; RCPT then decides per domain.
  CHECK_FALSE(sender_verdict(s, "boss@partner.example", std::nullopt).rejected);
  CHECK_FALSE(sender_verdict(s, "boss@partner.example", std::string_view("example.org")).rejected);
  CHECK(sender_verdict(s, "boss@partner.example", std::string_view("example.net")).rejected);
  // A scoped reject does not refuse MAIL, only recipients in its domain.
  CHECK_FALSE(sender_verdict(s, "a@scoped.example", std::nullopt).rejected);
  CHECK(sender_verdict(s, "a@scoped.example", std::string_view("Example.ORG")).rejected);
  CHECK_FALSE(sender_verdict(s, "a@scoped.example", std::string_view("example.net")).rejected);
}

TEST_CASE("client verdicts") {
  RuleSet s = set_of({{"client", "192.0.2.0/24", "reject"}, {"client", "2001:db8::/32", "reject"}});
  CHECK(client_blocked(s, "192.0.2.200"));
  CHECK(client_blocked(s, "::ffff:192.0.2.1"));
  CHECK(client_blocked(s, "2001:db8::1"));
  CHECK_FALSE(client_blocked(s, "198.51.100.1"));
  CHECK_FALSE(client_blocked(s, "not an address"));
  CHECK_FALSE(client_blocked(RuleSet(), "192.0.2.1"));
}

TEST_CASE("rules not written by mailctl are skipped") {
  FilterRule bad;
  bad.kind = "client";
  bad.pattern = "nonsense";
  bad.action = "reject";
  FilterRule odd;
  odd.kind = "colour";
  RuleSet s = RuleSet::build({bad, odd});
  CHECK(s.skipped == 2);
  CHECK(s.empty());
}

TEST_CASE("10,000 rules: the right verdict, quickly") {
  std::vector<FilterRule> rs;
  for (int i = 0; i < 10000; ++i)
    rs.push_back(rule({"sender", "*@spam" + std::to_string(i) + ".example", "reject"}));
  rs.push_back(rule({"sender", "ok@spam9999.example", "allow"}));
  RuleSet s = RuleSet::build(rs);
  REQUIRE(s.senders.size() == 10001);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    CHECK(sender_verdict(s, "x@spam9999.example", std::nullopt).rejected);
    CHECK_FALSE(sender_verdict(s, "ok@spam9999.example", std::nullopt).rejected);
    CHECK_FALSE(sender_verdict(s, "x@ham.example", std::nullopt).rejected);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
