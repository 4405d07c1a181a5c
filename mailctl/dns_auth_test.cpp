// Tests for check-dns's DKIM and DMARC judgement (dns_auth.hpp): a matching record, a
// missing or different one (with the exact record to publish), a retiring key, lookups
// that fail, and DMARC records missing, doubled, broken or too strict.
#include "mailctl/dns_auth.hpp"

#include <doctest/doctest.h>

#include "common/dkim/tags.hpp"

using namespace mailctl;
using common::dns::Lookup;

namespace {
const std::string kRecord = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

DkimKeyCheck key(std::vector<std::string> found, bool active = true, Lookup st = Lookup::kOk) {
  DkimKeyCheck k;
  k.selector = "s1";
  k.active = active;
  k.record = kRecord;
  k.status = st;
  k.found = std::move(found);
  return k;
}

std::string all_lines(const AuthReport& r) {
  std::string s;
  for (const auto& [k, v] : r.lines) s += k + " " + v + "\n";
  return s;
}
}  // namespace

TEST_CASE("tag lists") {
  auto t = common::dkim::parse_tags(" v=DKIM1 ;k=rsa; p=AB CD\t EF ;");
  REQUIRE(t.is_ok());
  CHECK((*t)["v"] == "DKIM1");
  CHECK(common::dkim::without_space((*t)["p"]) == "ABCDEF");
  CHECK_FALSE(common::dkim::parse_tags("v=1; v=2").is_ok());
  CHECK_FALSE(common::dkim::parse_tags("novalue").is_ok());
  CHECK_FALSE(common::dkim::parse_tags("a b=1").is_ok());
}

TEST_CASE("a published record that matches the key") {
  AuthCheck c;
  // Published with different spacing, split in two strings and joined by the resolver.
  c.dkim.push_back(key({"v=DKIM1;k=ed25519;p=11qYAYKxCrfVS/7TyWQHOg7hcvPa piMlrwIaaPcHURo="}));
  c.dmarc = {"v=DMARC1; p=reject; rua=mailto:d@example.org"};
  auto r = evaluate_auth("example.org", c);
  CHECK(r.problems.empty());
  CHECK(all_lines(r) ==
        "DKIM s1 (signs): published, matches the key\nDMARC v=DMARC1; p=reject; rua=mailto:d@example.org\n");
}

TEST_CASE("a missing or different DKIM record: what to publish") {
  AuthCheck c;
  c.dkim.push_back(key({}, true, Lookup::kNxDomain));
  auto r = evaluate_auth("example.org", c);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0] ==
        "the DKIM key s1 of example.org is not in the DNS; publish: s1._domainkey.example.org. IN TXT \"" +
            kRecord + "\"");
  c.dkim[0] = key({"v=DKIM1; k=rsa; p=MIIBIjANBgkq"}, false);
  r = evaluate_auth("example.org", c);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].starts_with(
      "the TXT record at s1._domainkey.example.org does not match the key that signed; "
      "publish instead: s1._domainkey.example.org. IN TXT"));
  c.dkim[0] = key({kRecord, kRecord + " "});
  r = evaluate_auth("example.org", c);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].starts_with("more than one TXT record at s1._domainkey.example.org; keep only:"));
  c.dkim[0] = key({}, true, Lookup::kTempFail);
  r = evaluate_auth("example.org", c);
  CHECK(r.failures.size() == 1);
}

TEST_CASE("no key, no DMARC: advice, not problems") {
  AuthCheck c;
  auto r = evaluate_auth("example.org", c);
  CHECK(r.problems.empty());
  CHECK(all_lines(r).find(
            "DKIM no key: this server signs none of its mail (mailctl dkim generate example.org)") !=
        std::string::npos);
  CHECK(all_lines(r).find("DMARC none; to ask receivers for reports, publish: _dmarc.example.org. IN TXT "
                          "\"v=DMARC1; p=none; rua=mailto:postmaster@example.org\"") != std::string::npos);
}

TEST_CASE("DMARC records that receivers ignore, and a strict policy without signing") {
  AuthCheck c;
  c.dkim.push_back(key({kRecord}));
  c.dmarc = {"v=DMARC1; p=none", "v=DMARC1; p=reject"};
  CHECK(evaluate_auth("example.org", c).problems.size() == 1);
  c.dmarc = {"v=DMARC1; p=maybe"};
  CHECK(evaluate_auth("example.org", c).problems[0].find("needs p=none, p=quarantine or p=reject") !=
        std::string::npos);
  c.dmarc = {"v=DMARC1; p"};
  CHECK(evaluate_auth("example.org", c).problems[0].find("does not parse") != std::string::npos);
  c.dkim.clear();
  c.dmarc = {"v=DMARC1; p=reject"};
  CHECK(evaluate_auth("example.org", c).problems[0].find("signs none of its mail") != std::string::npos);
  c.dmarc_status = Lookup::kTempFail;
  CHECK(evaluate_auth("example.org", c).failures.size() == 1);
}
