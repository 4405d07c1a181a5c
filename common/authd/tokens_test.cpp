// The login token rules: a token opens the account it was issued for, once, within its
// lifetime; a wrong account, a second use, an expired or unknown token are refused, and
// the store stays bounded.
#include "common/authd/tokens.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using authd::LoginTokens;
using V = LoginTokens::Verdict;

TEST_CASE("tokens: issued for an account, redeemed once for it") {
  LoginTokens t;
  std::string tok = t.issue("bob@example.test", "/var/mail/example.test/bob", 100);
  CHECK(tok.size() == LoginTokens::kTokenSize);
  CHECK(tok.find_first_not_of("0123456789abcdef") == std::string::npos);
  auto r = t.redeem(tok, "bob@example.test", 101);
  CHECK(r.verdict == V::kOk);
  CHECK(r.maildir == "/var/mail/example.test/bob");
  // Single use.
  auto again = t.redeem(tok, "bob@example.test", 101);
  CHECK(again.verdict == V::kUnknown);
  CHECK(again.maildir.empty());
  CHECK(t.size() == 0);
}

TEST_CASE("tokens: another account's token is refused and burnt") {
  LoginTokens t;
  std::string tok = t.issue("bob@example.test", "/m/bob", 0);
  auto r = t.redeem(tok, "alice@example.test", 1);
  CHECK(r.verdict == V::kWrongAccount);
  CHECK(r.maildir.empty());
  // No second guess, not even with the right account.
  CHECK(t.redeem(tok, "bob@example.test", 1).verdict == V::kUnknown);
}

TEST_CASE("tokens: expire after their lifetime") {
  LoginTokens t(30);
  std::string a = t.issue("a@x.test", "/m/a", 0);
  std::string b = t.issue("b@x.test", "/m/b", 10);
  CHECK(t.redeem(a, "a@x.test", 30).verdict == V::kExpired);
  CHECK(t.redeem(b, "b@x.test", 39.5).verdict == V::kOk);
  // An expired token is forgotten when a later call passes its time.
  std::string c = t.issue("c@x.test", "/m/c", 50);
  t.issue("d@x.test", "/m/d", 100);
  CHECK(t.size() == 1);
  CHECK(t.redeem(c, "c@x.test", 100).verdict == V::kUnknown);
}

TEST_CASE("tokens: unknown, malformed and empty tokens are refused") {
  LoginTokens t;
  std::string tok = t.issue("bob@example.test", "/m/bob", 0);
  std::string other = tok;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  CHECK(t.redeem(other, "bob@example.test", 1).verdict == V::kUnknown);
  CHECK(t.redeem("", "bob@example.test", 1).verdict == V::kUnknown);
  CHECK(t.redeem(tok.substr(1), "bob@example.test", 1).verdict == V::kUnknown);
  CHECK(t.redeem(tok + "0", "bob@example.test", 1).verdict == V::kUnknown);
  // The near misses did not burn the real one.
  CHECK(t.redeem(tok, "bob@example.test", 1).verdict == V::kOk);
}

TEST_CASE("tokens: distinct, and bounded in number (the oldest go first)") {
  LoginTokens t(30, 8);
  std::set<std::string> seen;
  std::vector<std::string> toks;
  for (int i = 0; i < 20; ++i) {
    toks.push_back(t.issue("u" + std::to_string(i) + "@x.test", "/m", 1));
    seen.insert(toks.back());
    CHECK(t.size() <= 8);
  }
  CHECK(seen.size() == 20);
  CHECK(t.redeem(toks[0], "u0@x.test", 2).verdict == V::kUnknown);
  CHECK(t.redeem(toks[19], "u19@x.test", 2).verdict == V::kOk);
  // Quick issue-and-redeem cycles keep the bookkeeping bounded as well.
  for (int i = 0; i < 1000; ++i) {
    std::string x = t.issue("q@x.test", "/m", 3);
    CHECK(t.redeem(x, "q@x.test", 3).verdict == V::kOk);
  }
  CHECK(t.size() <= 8);
}
