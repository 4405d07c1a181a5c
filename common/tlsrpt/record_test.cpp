// Unit tests for the TLS session records, the day's counts and the day files.
#include "common/tlsrpt/record.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/io/fdio.hpp"
#include "common/tlsrpt/store.hpp"

using namespace common::tlsrpt;

namespace {

Session sts_session(const std::string& result) {
  Session s;
  s.time = 1700000000;
  s.policy.type = PolicyType::kSts;
  s.policy.domain = "example.com";
  s.policy.strings = {"version: STSv1", "mode: enforce", "mx: *.example.com", "max_age: 86400"};
  s.policy.mx = {"*.example.com"};
  s.result = result;
  s.mx = "mx1.example.com";
  s.ip = "192.0.2.7";
  return s;
}

}  // namespace

TEST_CASE("a session line round-trips, special characters escaped") {
  Session s = sts_session(kCertificateExpired);
  s.policy.strings.push_back("odd | % - \x01 value");
  std::string line = format_session(s);
  CHECK(line.back() == '\n');
  CHECK(line.find('\x01') == std::string::npos);
  auto back = parse_session(std::string_view(line).substr(0, line.size() - 1));
  REQUIRE(back);
  CHECK(back->policy == s.policy);
  CHECK(back->result == s.result);
  CHECK(back->mx == s.mx);
  CHECK(back->ip == s.ip);
  CHECK(back->time == s.time);

  Session none;
  none.policy.domain = "plain.example";
  none.mx = "-";
  std::string l2 = format_session(none);
  CHECK(l2 == "S1 0 no-policy-found plain.example - %2D - - -\n");
  auto b2 = parse_session(std::string_view(l2).substr(0, l2.size() - 1));
  REQUIRE(b2);
  CHECK(b2->result.empty());
  CHECK(b2->mx == "-");
  CHECK(b2->policy.strings.empty());
}

TEST_CASE("malformed session lines are refused") {
  CHECK_FALSE(parse_session(""));
  CHECK_FALSE(parse_session("S1 1 sts example.com - - -"));            // fields missing
  CHECK_FALSE(parse_session("S2 1 sts example.com - - - - -"));        // unknown kind
  CHECK_FALSE(parse_session("S1 x sts example.com - - - - -"));        // time
  CHECK_FALSE(parse_session("S1 1 dane example.com - - - - -"));       // type
  CHECK_FALSE(parse_session("S1 1 sts Example.COM - - - - -"));        // domain case
  CHECK_FALSE(parse_session("S1 1 sts example.com made-up - - - -"));  // result type
  CHECK_FALSE(parse_session("S1 1 sts example.com - - - a%2 -"));      // escape cut
  CHECK_FALSE(parse_session("S1 1 sts example.com - - - a||b -"));     // empty item
  CHECK_FALSE(parse_session("S1 1 sts example.com - - - - - "));       // trailing blank
  CHECK(parse_session("S1 1 tlsa example.com dnssec-invalid mx.example.com - - mx.example.com"));
}

TEST_CASE("the day's counts: per domain and policy, failures by result, mx and ip; torn lines skipped") {
  std::string file = format_session(sts_session("")) + format_session(sts_session("")) +
                     format_session(sts_session(kCertificateExpired)) +
                     format_session(sts_session(kCertificateExpired)) + "garbage line\n" +
                     format_session(sts_session(kStartTlsNotSupported));
  Session other = sts_session("");
  other.policy.strings[1] = "mode: testing";
  file += format_session(other);
  file += "S1 1700000000 sts exam";  // a torn last line
  DayCounts counts;
  CHECK(add_day_file(file, &counts) == 2);
  REQUIRE(counts.size() == 1);
  auto& policies = counts["example.com"];
  REQUIRE(policies.size() == 2);
  const PolicyCounts& c = policies[sts_session("").policy];
  CHECK(c.successes == 2);
  CHECK(c.failures == 3);
  CHECK(c.details.at(FailureKey{kCertificateExpired, "mx1.example.com", "192.0.2.7"}) == 2);
  CHECK(c.details.at(FailureKey{kStartTlsNotSupported, "mx1.example.com", "192.0.2.7"}) == 1);
  CHECK(policies[other.policy].successes == 1);
}

TEST_CASE("days: UTC names and their start") {
  CHECK(day_of(0) == "1970-01-01");
  CHECK(day_of(1700000000) == "2023-11-14");
  CHECK(day_start("2023-11-14") == 1699920000);
  CHECK(day_start("2023-02-29") == -1);
  CHECK(day_start("2023-1-14") == -1);
  CHECK(day_start("2023-11-14.x") == -1);
}

TEST_CASE("day files: appended lines, claimed days (earlier ones, today on request, leftovers)") {
  char tmpl[] = "/tmp/tlsrpt-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  REQUIRE(append_lines(dir, "2023-11-13", "a\n"));
  REQUIRE(append_lines(dir, "2023-11-13", "b\n"));
  REQUIRE(append_lines(dir, "2023-11-14", "c\n"));
  CHECK_FALSE(append_lines(dir, "../x", "d\n"));
  auto put = [&](const std::string& name, const std::string& text) {
    common::io::UniqueFd fd(::open((dir + "/" + name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(common::io::write_all(fd.get(), text));
  };
  put("2023-11-12.1-2-3.sending", "old\n");
  put("notes", "x\n");

  auto c = claim_days(dir, "2023-11-14", false);
  REQUIRE(c);
  REQUIRE(c->size() == 2);
  CHECK((*c)[0].day == "2023-11-12");
  CHECK((*c)[0].text == "old\n");
  CHECK((*c)[1].day == "2023-11-13");
  CHECK((*c)[1].text == "a\nb\n");
  struct stat st;
  CHECK(::stat((dir + "/2023-11-13").c_str(), &st) != 0);  // renamed away
  CHECK(::stat((dir + "/2023-11-14").c_str(), &st) == 0);  // today stays
  for (const auto& x : *c) ::unlink(x.path.c_str());
  // A writer after the claim starts a new file for the day.
  REQUIRE(append_lines(dir, "2023-11-13", "e\n"));
  auto c2 = claim_days(dir, "2023-11-14", true);
  REQUIRE(c2);
  REQUIRE(c2->size() == 2);
  CHECK((*c2)[0].text == "e\n");
  CHECK((*c2)[1].text == "c\n");
  for (const auto& x : *c2) ::unlink(x.path.c_str());
  ::unlink((dir + "/notes").c_str());
  CHECK(::rmdir(dir.c_str()) == 0);
}
