// Tests of the fallback relay decisions: temporary failures only, never for a domain we
// are an MX host of, each fallback once and in order; the final verdict keeps both reasons.
#include "delivery/remote/fallback.hpp"

#include <doctest/doctest.h>

using namespace delivery::remote;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {
std::vector<common::smtp::NextHop> hops(std::initializer_list<const char*> l) {
  std::vector<common::smtp::NextHop> out;
  for (const char* h : l) out.push_back(common::smtp::parse_next_hop(h).value());
  return out;
}
const Verdict kTemp{Outcome::kTemporary, "4.4.1", "connect to mx.example.net[192.0.2.1]:25: refused"};
const Verdict kPerm{Outcome::kPermanent, "5.1.1", "no such user"};
const Verdict kOk{Outcome::kOk, "2.0.0", "queued"};
}  // namespace

TEST_CASE("a temporary failure goes to the fallbacks in order, once each") {
  auto f = hops({"[192.0.2.7]", "gw.example.org:2525"});
  CHECK(next_fallback(f, -1, false, kTemp) == 0);
  CHECK(next_fallback(f, 0, false, kTemp) == 1);
  CHECK_FALSE(next_fallback(f, 1, false, kTemp));  // the last one failed: back to the queue
}

TEST_CASE("no fallback for final answers, successes, our own MX domains, or none configured") {
  auto f = hops({"[192.0.2.7]"});
  CHECK_FALSE(next_fallback(f, -1, false, kPerm));  // 5xx: the destination's final word
  CHECK_FALSE(next_fallback(f, -1, false, kOk));
  CHECK_FALSE(next_fallback(f, -1, true, kTemp));  // RFC 5321 5.1: it would come back to us
  CHECK_FALSE(next_fallback({}, -1, false, kTemp));
}

TEST_CASE("after the last fallback: temporary, with the first and the last reason") {
  Verdict last{Outcome::kTemporary, "4.4.2", "lost connection with [192.0.2.7]:25"};
  Verdict v = after_fallbacks(kTemp.text, last);
  CHECK(v.outcome == Outcome::kTemporary);
  CHECK(v.status == "4.4.2");
  CHECK(v.text == kTemp.text + "; fallback relay: " + last.text);
  CHECK(after_fallbacks(kTemp.text, kOk).text == "queued");          // delivered: its own words
  CHECK(after_fallbacks(kTemp.text, kPerm).text == "no such user");  // refused there: final
  CHECK(after_fallbacks("", last).text == last.text);                // never fell back
}
