// Tests of the pure DNS answer helpers (common/dns/records.hpp): MX RDATA decoding with
// ldns, null MX (RFC 7505), preference order with shuffled ties (RFC 5321 5.1).
#include "common/dns/records.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

using namespace common::dns;

namespace {

// MX RDATA: preference (network order) + uncompressed wire-format name.
std::string mx_rdata(std::uint16_t pref, std::vector<std::string> labels) {
  std::string out;
  out.push_back(static_cast<char>(pref >> 8));
  out.push_back(static_cast<char>(pref & 0xff));
  for (const auto& l : labels) {
    out.push_back(static_cast<char>(l.size()));
    out += l;
  }
  out.push_back('\0');
  return out;
}

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return std::vector<std::string_view>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("decode_mx: preference and exchange from RDATA (RFC 1035 3.3.9)") {
  auto rd = mx_rdata(10, {"MX1", "Example", "test"});
  auto mx = decode_mx(reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size());
  REQUIRE(mx.is_ok());
  CHECK(mx->preference == 10);
  CHECK(mx->host == "mx1.example.test");

  auto root = mx_rdata(0, {});
  mx = decode_mx(reinterpret_cast<const std::uint8_t*>(root.data()), root.size());
  REQUIRE(mx.is_ok());
  CHECK(mx->host.empty());
}

TEST_CASE("decode_mx: malformed RDATA is refused") {
  auto check_bad = [](std::string rd) {
    auto mx = decode_mx(reinterpret_cast<const std::uint8_t*>(rd.data()), rd.size());
    CHECK_FALSE(mx.is_ok());
  };
  check_bad(std::string("\x00", 1));                      // too short
  check_bad(std::string("\x00\x0a\x05mx", 5));            // label runs past the end
  check_bad(std::string("\x00\x0a\x02mx\x00trail", 10));  // bytes after the name
  check_bad(std::string("\x00\x0a\xc0\x02", 4));          // compression pointer
}

TEST_CASE("is_host_name: LDH labels only") {
  CHECK(is_host_name("mx.example.test"));
  CHECK(is_host_name("a-b.c0"));
  CHECK(is_host_name("localhost"));
  CHECK_FALSE(is_host_name(""));
  CHECK_FALSE(is_host_name("-a.example"));
  CHECK_FALSE(is_host_name("a-.example"));
  CHECK_FALSE(is_host_name("a..example"));
  CHECK_FALSE(is_host_name("a_b.example"));
  CHECK_FALSE(is_host_name("a\\032b.example"));
  CHECK_FALSE(is_host_name(std::string(64, 'a') + ".example"));
  CHECK(is_host_name(std::string(63, 'a') + ".example"));
}

TEST_CASE("make_mx_answer: sorted by preference, unusable names dropped") {
  std::mt19937 rng(1);
  std::vector<std::string> rds = {mx_rdata(20, {"backup", "example"}), mx_rdata(5, {"primary", "example"}),
                                  mx_rdata(10, {"bad_name", "example"}), std::string("\x00", 1)};
  auto a = make_mx_answer(views(rds), rng);
  CHECK(a.status == Lookup::kOk);
  CHECK_FALSE(a.null_mx);
  REQUIRE(a.hosts.size() == 2);
  CHECK(a.hosts[0].host == "primary.example");
  CHECK(a.hosts[1].host == "backup.example");
}

TEST_CASE("make_mx_answer: equal preferences are shuffled (RFC 5321 5.1)") {
  std::vector<std::string> rds = {mx_rdata(20, {"relay1", "isp", "net"}),
                                  mx_rdata(20, {"relay2", "isp", "net"}),
                                  mx_rdata(10, {"mail", "example", "com"})};
  std::mt19937 rng(42);
  std::map<std::string, int> second;
  for (int i = 0; i < 200; ++i) {
    auto a = make_mx_answer(views(rds), rng);
    REQUIRE(a.hosts.size() == 3);
    CHECK(a.hosts[0].host == "mail.example.com");
    second[a.hosts[1].host]++;
  }
  // Both relays come second, each about half of the time.
  CHECK(second.size() == 2);
  CHECK(second["relay1.isp.net"] > 60);
  CHECK(second["relay2.isp.net"] > 60);
}

TEST_CASE("make_mx_answer: null MX (RFC 7505)") {
  std::mt19937 rng(1);
  std::vector<std::string> rds = {mx_rdata(0, {})};
  auto a = make_mx_answer(views(rds), rng);
  CHECK(a.null_mx);
  CHECK(a.hosts.empty());

  // "." among real hosts is not a null MX: the real hosts are used.
  rds.push_back(mx_rdata(10, {"mx", "example"}));
  a = make_mx_answer(views(rds), rng);
  CHECK_FALSE(a.null_mx);
  REQUIRE(a.hosts.size() == 1);

  // Only unusable records: nowhere to deliver, but not a null MX.
  rds = {mx_rdata(10, {"bad_name", "example"})};
  a = make_mx_answer(views(rds), rng);
  CHECK_FALSE(a.null_mx);
  CHECK(a.status == Lookup::kNoData);
}

TEST_CASE("decode_addresses: exact lengths only") {
  std::vector<std::string> v4 = {std::string("\x7f\x00\x00\x05", 4), std::string("\x01\x02\x03", 3)};
  auto a = decode_addresses(views(v4), false);
  REQUIRE(a.size() == 1);
  CHECK(a[0] == "127.0.0.5");
  std::vector<std::string> v6 = {std::string(15, '\0') + "\x01"};
  a = decode_addresses(views(v6), true);
  REQUIRE(a.size() == 1);
  CHECK(a[0] == "::1");
}

TEST_CASE("classify: RCODE and flags") {
  CHECK(classify(0, true, false) == Lookup::kOk);
  CHECK(classify(0, false, false) == Lookup::kNoData);
  CHECK(classify(3, false, true) == Lookup::kNxDomain);
  CHECK(classify(2, false, false) == Lookup::kTempFail);
  CHECK(classify(5, false, false) == Lookup::kTempFail);
}

TEST_CASE("forwarder_spec: dns_resolver values") {
  CHECK(*forwarder_spec("127.0.0.53") == "127.0.0.53");
  CHECK(*forwarder_spec("127.0.0.53:5353") == "127.0.0.53@5353");
  CHECK(*forwarder_spec("[::1]:53") == "::1@53");
  CHECK(*forwarder_spec("::1") == "::1");
  CHECK_FALSE(forwarder_spec("dns.example:53").is_ok());
  CHECK_FALSE(forwarder_spec("127.0.0.1:0").is_ok());
  CHECK_FALSE(forwarder_spec("127.0.0.1:99999").is_ok());
  CHECK_FALSE(forwarder_spec("[::1").is_ok());
}
