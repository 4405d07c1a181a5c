// Unit tests for the split of a message's recipients into Deliver requests.
#include "queue-manager/batches.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace qmgr;

namespace {

std::vector<std::size_t> iota(std::size_t n, std::size_t from = 0) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from + i;
  return v;
}

}  // namespace

TEST_CASE("local recipients: arrival order, at most the limit per request") {
  auto b = local_batches(iota(120), 50);
  REQUIRE(b.size() == 3);
  CHECK(b[0].size() == 50);
  CHECK(b[2].size() == 20);
  CHECK(b[1].front() == 50);
  CHECK(local_batches({}, 50).empty());
}

TEST_CASE("remote recipients interleaving 50 domains: one request per pair of domains, not per recipient") {
  // 1,000 recipients, recipient k at domain k mod 50, as an alphabetical list spreads them.
  std::vector<std::string> addrs;
  for (int k = 0; k < 1000; ++k)
    addrs.push_back("r" + std::to_string(k) + "@d" + std::to_string(k % 50) + ".test");
  auto which = iota(1000, 7);  // indexes into the message's recipients
  auto b = remote_batches(addrs, which, 50);
  CHECK(b.size() == 25);  // 20 recipients per domain, two domains per request
  std::vector<std::size_t> all;
  for (const auto& req : b) {
    CHECK(req.size() <= 50);
    // At most two domains in a request, each complete.
    std::vector<std::string> doms;
    for (auto i : req) {
      std::string d = addrs[i - 7].substr(addrs[i - 7].find('@'));
      if (std::find(doms.begin(), doms.end(), d) == doms.end()) doms.push_back(d);
    }
    CHECK(doms.size() == 2);
    all.insert(all.end(), req.begin(), req.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == which);
}

TEST_CASE("remote recipients: domains compared without case, first-seen order kept") {
  std::vector<std::string> addrs = {"a@X.test", "b@y.test", "c@x.TEST", "d@y.test"};
  auto b = remote_batches(addrs, iota(4), 50);
  REQUIRE(b.size() == 1);
  CHECK(b[0] == std::vector<std::size_t>{0, 2, 1, 3});
}

TEST_CASE("remote recipients: a domain larger than the limit is cut; small groups share requests") {
  std::vector<std::string> addrs;
  for (int k = 0; k < 120; ++k) addrs.push_back("r" + std::to_string(k) + "@big.test");
  for (int k = 0; k < 10; ++k) addrs.push_back("s" + std::to_string(k) + "@small.test");
  addrs.push_back("nodomain");
  auto b = remote_batches(addrs, iota(131), 50);
  REQUIRE(b.size() == 3);
  CHECK(b[0].size() == 50);
  CHECK(b[1].size() == 50);
  CHECK(b[2].size() == 31);  // big's last 20, small's 10, the address without a domain
  CHECK(b[2].back() == 130);
}
