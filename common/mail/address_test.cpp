// Unit tests for the RFC 5321 path parser (common/mail/address.hpp): the grammar of
// RFC 5321 4.1.2 and 4.1.3, the limits of 4.5.3.1, SMTPUTF8 (RFC 6531) and the tricks
// open-relay probes use. Every case states what the parser must decide and why.
#include "common/mail/address.hpp"

#include <doctest/doctest.h>

#include <string>

using common::mail::Address;
using common::mail::parse_mailbox;
using common::mail::parse_path;
using common::mail::PathOptions;

namespace {

PathOptions opts(bool null = false, bool postmaster = false, bool utf8 = false) {
  PathOptions o;
  o.allow_null = null;
  o.allow_postmaster = postmaster;
  o.allow_utf8 = utf8;
  return o;
}

// Parses `text`, requiring success and that the whole text was consumed.
Address ok(std::string_view text, const PathOptions& o = opts()) {
  std::size_t used = 999;
  auto r = parse_path(text, o, &used);
  INFO("path: ", std::string(text));
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  CHECK(used == text.size());
  return *r;
}

bool bad(std::string_view text, const PathOptions& o = opts()) {
  std::size_t used = 999;
  auto r = parse_path(text, o, &used);
  return !r.is_ok();
}

std::string label(char c, std::size_t n) { return std::string(n, c); }

}  // namespace

TEST_CASE("simple paths") {
  Address a = ok("<user@example.com>");
  CHECK(a.local == "user");
  CHECK(a.domain == "example.com");
  CHECK_FALSE(a.literal);
  CHECK_FALSE(a.utf8);
  CHECK_FALSE(a.null());
  CHECK(a.str() == "user@example.com");
  CHECK(a.key() == "user@example.com");

  // Domains are case-insensitive (RFC 5321 2.4) and lower-cased; local parts keep their
  // case (RFC 5321 2.4: "MUST be treated as case sensitive") but key() folds them.
  Address b = ok("<John.Doe@Example.COM>");
  CHECK(b.local == "John.Doe");
  CHECK(b.domain == "example.com");
  CHECK(b.str() == "John.Doe@example.com");
  CHECK(b.key() == "john.doe@example.com");

  // atext specials are all allowed in a Dot-string (RFC 5322 3.2.3).
  Address c = ok("<!#$%&'*+-/=?^_`{|}~@x.example>");
  CHECK(c.local == "!#$%&'*+-/=?^_`{|}~");
  CHECK(c.str() == "!#$%&'*+-/=?^_`{|}~@x.example");

  // A single-label domain is grammatical (sub-domain *("." sub-domain)).
  CHECK(ok("<root@localhost>").domain == "localhost");
}

TEST_CASE("consumed stops at the closing bracket") {
  std::size_t used = 0;
  auto r = parse_path("<a@b.example> SIZE=1000 BODY=8BITMIME", opts(), &used);
  REQUIRE(r.is_ok());
  CHECK(used == 13);
  auto r2 = parse_path("<a@b.example>>", opts(), &used);
  REQUIRE(r2.is_ok());
  CHECK(used == 13);
}

TEST_CASE("path punctuation") {
  CHECK(bad(""));
  CHECK(bad("user@example.com"));      // no angle brackets
  CHECK(bad(" <user@example.com>"));   // must start at '<'
  CHECK(bad("<user@example.com"));     // unterminated
  CHECK(bad("<user@example.com x>"));  // junk before '>'
  CHECK(bad("<user @example.com>"));
  CHECK(bad("<user@ example.com>"));
  CHECK(bad("<user>"));          // no domain (and not Postmaster)
  CHECK(bad("<@example.com>"));  // empty local part
  CHECK(bad("<user@>"));
  CHECK(bad("< >"));
  CHECK(bad("<"));
  CHECK(bad("<user@example.com@>"));
  CHECK(bad(std::string_view("<us\0er@example.com>", 19)));
  CHECK(bad(std::string_view("<user@exa\0mple.com>", 19)));
}

TEST_CASE("null path") {
  // RFC 5321 4.5.5: MAIL FROM:<> only.
  std::size_t used = 0;
  auto r = parse_path("<> SIZE=10", opts(true), &used);
  REQUIRE(r.is_ok());
  CHECK(used == 2);
  CHECK(r->null());
  CHECK(r->str() == "");
  CHECK(bad("<>"));
  CHECK(bad("< >", opts(true)));
}

TEST_CASE("Postmaster without a domain, case-insensitive") {
  // RFC 5321 4.5.1: RCPT TO:<Postmaster> MUST be accepted; 2.4: case-insensitive.
  for (const char* p : {"<Postmaster>", "<postmaster>", "<POSTMASTER>", "<PostMaster>"}) {
    Address a = ok(p, opts(false, true));
    CHECK(a.local == "postmaster");
    CHECK(a.domain.empty());
    CHECK_FALSE(a.null());
    CHECK(a.str() == "postmaster");
    CHECK(a.key() == "postmaster");
  }
  CHECK(bad("<Postmaster>"));  // not allowed where a domain is required
  CHECK(bad("<Postmasterx>", opts(false, true)));
  CHECK(bad("<Postmaste>", opts(false, true)));
  CHECK(bad("<Postmaster", opts(false, true)));
  // With a domain it is an ordinary mailbox.
  Address d = ok("<Postmaster@Example.ORG>", opts(false, true));
  CHECK(d.local == "Postmaster");
  CHECK(d.domain == "example.org");
  // Text after the path is left to the caller.
  std::size_t used = 0;
  REQUIRE(parse_path("<postmaster> NOTIFY=NEVER", opts(false, true), &used).is_ok());
  CHECK(used == 12);
}

TEST_CASE("quoted local parts") {
  // RFC 5321 4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE,
  // qtextSMTP = %d32-33 / %d35-91 / %d93-126, quoted-pairSMTP = %d92 %d32-126.
  Address a = ok("<\"john smith\"@example.com>");
  CHECK(a.local == "john smith");
  CHECK(a.str() == "\"john smith\"@example.com");
  CHECK(a.key() == "john smith@example.com");

  Address q = ok("<\"a\\\"b\"@x.example>");  // "a\"b"
  CHECK(q.local == "a\"b");
  CHECK(q.str() == "\"a\\\"b\"@x.example");

  Address bs = ok("<\"a\\\\b\"@x.example>");  // "a\\b"
  CHECK(bs.local == "a\\b");
  CHECK(bs.str() == "\"a\\\\b\"@x.example");

  // A needless quoted-pair is removed; a quoted Dot-string is canonically unquoted.
  Address un = ok("<\"\\a\\b.c\"@x.example>");
  CHECK(un.local == "ab.c");
  CHECK(un.str() == "ab.c@x.example");

  // Things a Dot-string cannot hold are kept and re-quoted.
  CHECK(ok("<\"a..b\"@x.example>").str() == "\"a..b\"@x.example");
  CHECK(ok("<\".a\"@x.example>").str() == "\".a\"@x.example");
  CHECK(ok("<\"a.\"@x.example>").str() == "\"a.\"@x.example");
  CHECK(ok("<\"(comment)\"@x.example>").str() == "\"(comment)\"@x.example");
  CHECK(ok("<\"a<b>c\"@x.example>").local == "a<b>c");
  CHECK(ok("<\" \"@x.example>").local == " ");

  CHECK(bad("<\"\"@x.example>"));        // empty local part refused
  CHECK(bad("<\"abc@x.example>"));       // unterminated
  CHECK(bad("<\"abc\\\"@x.example>"));   // the quote is escaped: unterminated
  CHECK(bad("<\"a\tb\"@x.example>"));    // HT is not qtextSMTP
  CHECK(bad("<\"a\\\tb\"@x.example>"));  // nor quoted-pairSMTP
  CHECK(bad("<\"a\\\x01\"@x.example>"));
  CHECK(bad("<\"a\x7f\"@x.example>"));
  CHECK(bad("<\"a\rb\"@x.example>"));
  CHECK(bad("<\"a\nb\"@x.example>"));
  CHECK(bad(std::string_view("<\"a\0b\"@x.example>", 17)));
  CHECK(bad("<\"ab\"c@x.example>"));  // quoted string must be the whole local part
  CHECK(bad("<a\"b\"@x.example>"));
  CHECK(bad("<\"ab\".c@x.example>"));
}

TEST_CASE("dot-string local parts") {
  CHECK(ok("<a.b.c@x.example>").local == "a.b.c");
  CHECK(bad("<.a@x.example>"));
  CHECK(bad("<a.@x.example>"));
  CHECK(bad("<a..b@x.example>"));
  CHECK(bad("<.@x.example>"));
  CHECK(bad("<a(b)@x.example>"));
  CHECK(bad("<a,b@x.example>"));
  CHECK(bad("<a;b@x.example>"));
  CHECK(bad("<a[b@x.example>"));
  CHECK(bad("<a\\b@x.example>"));
}

TEST_CASE("domain syntax") {
  CHECK(ok("<u@a-b.example>").domain == "a-b.example");
  CHECK(ok("<u@1.2.3.example>").domain == "1.2.3.example");
  CHECK(ok("<u@3com.example>").domain == "3com.example");
  CHECK(bad("<u@example.com.>"));  // trailing dot: empty last label
  CHECK(bad("<u@.example.com>"));
  CHECK(bad("<u@a..example>"));
  CHECK(bad("<u@.>"));
  CHECK(bad("<u@->"));
  CHECK(bad("<u@-a.example>"));  // sub-domain = Let-dig [Ldh-str]
  CHECK(bad("<u@a-.example>"));  // Ldh-str ends in Let-dig
  CHECK(bad("<u@a.-b.example>"));
  CHECK(bad("<u@a_b.example>"));
  CHECK(bad("<u@a b.example>"));
  CHECK(bad("<u@a/b.example>"));
  CHECK(bad("<u@a%b.example>"));
  // RFC 1035 2.3.4: labels of at most 63 octets.
  CHECK(ok("<u@" + label('a', 63) + ".example>").domain.size() == 63 + 8);
  CHECK(bad("<u@" + label('a', 64) + ".example>"));
}

TEST_CASE("address literals") {
  // RFC 5321 4.1.3.
  Address v4 = ok("<u@[192.0.2.1]>");
  CHECK(v4.literal);
  CHECK(v4.domain == "[192.0.2.1]");
  CHECK(v4.str() == "u@[192.0.2.1]");
  CHECK(ok("<u@[0.0.0.0]>").domain == "[0.0.0.0]");
  CHECK(ok("<u@[255.255.255.255]>").literal);

  Address v6 = ok("<u@[IPv6:2001:db8::1]>");
  CHECK(v6.literal);
  CHECK(v6.domain == "[IPv6:2001:db8::1]");
  // The tag is case-insensitive (ABNF strings); it is kept in its RFC spelling and the
  // hex digits are lower-cased.
  CHECK(ok("<u@[ipv6:2001:DB8::1]>").domain == "[IPv6:2001:db8::1]");
  CHECK(ok("<u@[IPV6:2001:DB8::A]>").domain == "[IPv6:2001:db8::a]");
  CHECK(ok("<u@[IPv6:::1]>").literal);
  CHECK(ok("<u@[IPv6:::ffff:192.0.2.1]>").literal);      // IPv6v4-comp
  CHECK(ok("<u@[IPv6:2001:db8:0:0:0:0:0:1]>").literal);  // IPv6-full

  CHECK(bad("<u@[192.0.2.256]>"));
  CHECK(bad("<u@[192.0.2]>"));
  CHECK(bad("<u@[192.0.2.1.5]>"));
  CHECK(bad("<u@[192.0.2.1 ]>"));
  CHECK(bad("<u@[ 192.0.2.1]>"));
  CHECK(bad("<u@[0x7f.0.0.1]>"));
  CHECK(bad("<u@[2130706433]>"));   // inet_aton forms are not Snum dotted quads
  CHECK(bad("<u@[2001:db8::1]>"));  // IPv6 needs its tag
  CHECK(bad("<u@[IPv6:192.0.2.1]>"));
  CHECK(bad("<u@[IPv6:2001:db8::g]>"));
  CHECK(bad("<u@[IPv6:1:2:3:4:5:6:7:8:9]>"));
  CHECK(bad("<u@[IPv6:]>"));
  CHECK(bad("<u@[]>"));
  CHECK(bad("<u@[x-tag:stuff]>"));  // General-address-literal: not supported
  CHECK(bad("<u@[192.0.2.1>"));     // unterminated
  CHECK(bad("<u@[192.0.2.1]x>"));
  CHECK(bad("<u@[192.0.2.1].example>"));
  CHECK(bad("<u@x.[192.0.2.1]>"));
  // A NUL inside the brackets must not cut the literal short.
  CHECK(bad(std::string_view("<u@[192.0.2.1\0evil]>", 20)));
  CHECK(bad(std::string_view("<u@[IPv6:::1\0x]>", 16)));
  CHECK_FALSE(common::mail::is_address_literal(std::string_view("[1.2.3.4\0]", 10)));
  CHECK(common::mail::is_address_literal("[1.2.3.4]"));
  CHECK_FALSE(common::mail::is_address_literal("1.2.3.4"));
}

TEST_CASE("source routes are accepted and stripped") {
  // RFC 5321 4.1.2 A-d-l; Appendix C: the route MUST be ignored.
  Address a = ok("<@a.example,@b.example:user@c.example>");
  CHECK(a.local == "user");
  CHECK(a.domain == "c.example");
  CHECK(a.str() == "user@c.example");
  CHECK(ok("<@a.example:user@c.example>").str() == "user@c.example");
  CHECK(ok("<@[192.0.2.1]:user@c.example>").str() == "user@c.example");
  CHECK(ok("<@a.example:\"x y\"@c.example>").str() == "\"x y\"@c.example");
  CHECK(ok("<@a.example:Postmaster>", opts(false, true)).local == "postmaster");

  CHECK(bad("<@a.example user@c.example>"));
  CHECK(bad("<@a.example,user@c.example>"));
  CHECK(bad("<@a.example,:user@c.example>"));
  CHECK(bad("<@:user@c.example>"));
  CHECK(bad("<@a..example:user@c.example>"));
  CHECK(bad("<@a.example:>"));
  CHECK(bad("<@a.example:@b.example:user@c.example>"));
  CHECK(bad("<@a.example;@b.example:user@c.example>"));
  CHECK(bad("<@a.example>"));
  CHECK(bad("<@a.example:>", opts(true)));  // a route before <> is not the null path
}

TEST_CASE("open relay tricks parse as what they are") {
  // The relay decision is made on the domain the parser returns; these must not smuggle
  // a foreign destination into a local-looking address (RFC 5321 3.6.1, 2.3.11).
  Address pct = ok("<user%foreign.example@local.example>");
  CHECK(pct.local == "user%foreign.example");
  CHECK(pct.domain == "local.example");

  Address quoted = ok("<\"user@foreign.example\"@local.example>");
  CHECK(quoted.local == "user@foreign.example");
  CHECK(quoted.domain == "local.example");
  CHECK(quoted.str() == "\"user@foreign.example\"@local.example");
  CHECK(quoted.key() == "user@foreign.example@local.example");

  // The source route names the local host, but the mailbox is foreign: after stripping
  // the route what remains is user@foreign.example, and relay policy sees that.
  Address routed = ok("<@local.example:user@foreign.example>");
  CHECK(routed.local == "user");
  CHECK(routed.domain == "foreign.example");

  CHECK(bad("<user@foreign.example@local.example>"));

  Address bang = ok("<foreign.example!user@local.example>");
  CHECK(bang.local == "foreign.example!user");
  CHECK(bang.domain == "local.example");

  Address qbang = ok("<\"foreign.example!user\"@local.example>");
  CHECK(qbang.local == "foreign.example!user");
  CHECK(qbang.str() == "foreign.example!user@local.example");
}

TEST_CASE("length limits") {
  // RFC 5321 4.5.3.1.1: local part at most 64 octets.
  std::string l64 = label('l', 64), l65 = label('l', 65);
  CHECK(ok("<" + l64 + "@x.example>").local == l64);
  CHECK(bad("<" + l65 + "@x.example>"));
  // The limit applies to the local part as stored (quotes and quoted-pair backslashes
  // removed): 64 quoted characters pass, 65 do not.
  CHECK(ok("<\"" + label(' ', 64) + "\"@x.example>").local.size() == 64);
  CHECK(bad("<\"" + label(' ', 65) + "\"@x.example>"));

  // RFC 5321 4.5.3.1.2: domain at most 255 octets. A 255-octet domain cannot fit a path
  // (4.5.3.1.3), so it is checked on the domain syntax function.
  std::string d255 = label('a', 63) + "." + label('b', 63) + "." + label('c', 63) + "." + label('d', 63);
  REQUIRE(d255.size() == 255);
  CHECK(common::mail::is_domain(d255, false));
  CHECK_FALSE(common::mail::is_domain(d255 + "e", false));
  CHECK_FALSE(common::mail::is_domain(d255 + ".e", false));

  // RFC 5321 4.5.3.1.3: path at most 256 octets including the angle brackets.
  std::string d189 = label('a', 63) + "." + label('b', 63) + "." + label('c', 61);
  std::string p256 = "<" + l64 + "@" + d189 + ">";
  REQUIRE(p256.size() == 256);
  CHECK(ok(p256).domain == d189);
  std::string p257 = "<" + l64 + "@" + d189 + "c>";
  REQUIRE(p257.size() == 257);
  std::size_t used = 0;
  auto r = parse_path(p257, opts(), &used);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.message().find("256") != std::string::npos);
  // Text after a 256-octet path does not count against it.
  auto r2 = parse_path(p256 + " SIZE=12345", opts(), &used);
  REQUIRE(r2.is_ok());
  CHECK(used == 256);
  // A source route counts (it is part of the path).
  std::string routed =
      "<@r.example:" + l64 + "@" + label('a', 63) + "." + label('b', 63) + "." + label('c', 51) + ">";
  REQUIRE(routed.size() == 257);
  CHECK(bad(routed));
  // A very long input is refused without looking at all of it.
  CHECK(bad("<" + label('a', 100000) + "@x.example>"));
  CHECK(bad("<a@" + label('a', 100000) + ">"));
}

TEST_CASE("SMTPUTF8 addresses") {
  // RFC 6531 3.3: UTF-8 in local parts and domains only with SMTPUTF8.
  const std::string p =
      "<j\xC3\xB8rgen@b\xC3\xBC"
      "cher.example>";  // jørgen@bücher.example
  CHECK(bad(p));
  Address a = ok(p, opts(false, false, true));
  CHECK(a.utf8);
  CHECK(a.local == "j\xC3\xB8rgen");
  CHECK(a.domain ==
        "b\xC3\xBC"
        "cher.example");
  CHECK(ok("<\xE4\xBD\xA0\xE5\xA5\xBD@x.example>", opts(false, false, true)).utf8);  // 3-byte
  CHECK(ok("<\xF0\x9F\x93\xAC@x.example>", opts(false, false, true)).utf8);          // 4-byte
  CHECK(ok("<\"\xC3\xB8 x\"@x.example>", opts(false, false, true)).local == "\xC3\xB8 x");
  CHECK(bad("<\"\xC3\xB8 x\"@x.example>"));
  CHECK(
      bad("<a@b\xC3\xBC"
          "cher.example>"));
  // ASCII addresses with SMTPUTF8 on are not marked utf8.
  CHECK_FALSE(ok("<a@b.example>", opts(false, false, true)).utf8);
  // key() folds ASCII only.
  CHECK(ok("<\xC3\x84"
           "B@x.example>",
           opts(false, false, true))
            .key() ==
        "\xC3\x84"
        "b@x.example");

  // Malformed UTF-8 is refused even with SMTPUTF8 (RFC 3629 3).
  const char* malformed[] = {
      "\xC0\xAF",          // overlong '/'
      "\xC1\xBF",          // overlong
      "\xE0\x80\xAF",      // overlong 3-byte
      "\xF0\x80\x80\xAF",  // overlong 4-byte
      "\xED\xA0\x80",      // UTF-16 surrogate U+D800
      "\xED\xBF\xBF",      // U+DFFF
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xF5\x80\x80\x80",
      "\xFF",
      "\x80",          // stray continuation
      "\xC3",          // truncated 2-byte
      "\xE2\x82",      // truncated 3-byte
      "\xF0\x9F\x93",  // truncated 4-byte
      "\xC3\x28",      // bad continuation
  };
  for (const char* m : malformed) {
    INFO("sequence ", m);
    CHECK_FALSE(common::mail::is_valid_utf8(m));
    CHECK(bad("<a" + std::string(m) + "b@x.example>", opts(false, false, true)));
    CHECK(bad("<a" + std::string(m) + "@x.example>", opts(false, false, true)));
    CHECK(bad("<\"a" + std::string(m) + "\"@x.example>", opts(false, false, true)));
    CHECK(bad("<a@x" + std::string(m) + ".example>", opts(false, false, true)));
    CHECK(bad("<a@x" + std::string(m) + ">", opts(false, false, true)));
    CHECK(bad(std::string("<a@x.example") + m, opts(false, false, true)));
  }
  CHECK(common::mail::is_valid_utf8(""));
  CHECK(common::mail::is_valid_utf8("plain"));
  CHECK(common::mail::is_valid_utf8("\xEF\xBF\xBD\xF4\x8F\xBF\xBF\xED\x9F\xBF"));  // U+FFFD, U+10FFFF, U+D7FF
}

TEST_CASE("parse_mailbox") {
  auto a = parse_mailbox("User@Example.COM");
  REQUIRE(a.is_ok());
  CHECK(a->local == "User");
  CHECK(a->domain == "example.com");
  CHECK_FALSE(parse_mailbox("<user@example.com>").is_ok());
  CHECK_FALSE(parse_mailbox("user@example.com ").is_ok());
  CHECK_FALSE(parse_mailbox(" user@example.com").is_ok());
  CHECK_FALSE(parse_mailbox("user").is_ok());
  CHECK_FALSE(parse_mailbox("").is_ok());
  CHECK_FALSE(parse_mailbox("@a.example:user@example.com").is_ok());  // no routes here
  CHECK(parse_mailbox("\"a b\"@example.com")->local == "a b");
  CHECK(parse_mailbox("j\xC3\xB8rgen@example.com").is_ok());
  CHECK_FALSE(parse_mailbox("j\xC3\xB8rgen@example.com", false).is_ok());
  // A mailbox must fit in a path: "<" mailbox ">" <= 256 octets (RFC 5321 4.5.3.1.3).
  std::string d = label('a', 63) + "." + label('b', 63) + "." + label('c', 60);
  std::string m254 = label('l', 64) + "@" + d + "c";
  REQUIRE(m254.size() == 254);
  CHECK(parse_mailbox(m254).is_ok());
  CHECK_FALSE(parse_mailbox(m254 + "c").is_ok());
  CHECK_FALSE(parse_mailbox(m254 + "cc").is_ok());
}

TEST_CASE("str() round-trips through the parser") {
  const char* paths[] = {
      "<a@b.example>",          "<\"a b\"@b.example>",  "<\"a\\\"b\"@b.example>",
      "<\"a\\\\b\"@b.example>", "<\"a..b\"@b.example>", "<u@[192.0.2.1]>",
      "<u@[IPv6:2001:db8::1]>", "<\"@\"@b.example>",    "<\"\\\"\"@b.example>",
  };
  for (const char* p : paths) {
    Address a = ok(p);
    INFO(p, " -> ", a.str());
    std::size_t used = 0;
    auto b = parse_path("<" + a.str() + ">", opts(), &used);
    REQUIRE(b.is_ok());
    CHECK(b->local == a.local);
    CHECK(b->domain == a.domain);
    CHECK(b->str() == a.str());
    auto m = parse_mailbox(a.str());
    REQUIRE(m.is_ok());
    CHECK(m->key() == a.key());
  }
}

TEST_CASE("syntax helpers") {
  using common::mail::is_domain;
  using common::mail::is_dot_string;
  CHECK(is_dot_string("a.b", false));
  CHECK_FALSE(is_dot_string("", false));
  CHECK_FALSE(is_dot_string("a b", false));
  CHECK_FALSE(is_dot_string("\xC3\xB8", false));
  CHECK(is_dot_string("\xC3\xB8", true));
  CHECK(is_domain("a.b", false));
  CHECK_FALSE(is_domain("", false));
  CHECK_FALSE(is_domain("a.", false));
  CHECK_FALSE(is_domain("[1.2.3.4]", false));  // literals are not domains
}
