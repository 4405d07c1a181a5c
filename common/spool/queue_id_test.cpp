// Unit tests for queue ids (common/spool/queue_id.hpp): the format, uniqueness and order
// within one process.
#include "common/spool/queue_id.hpp"

#include <doctest/doctest.h>
#include <sys/time.h>

#include <set>
#include <string>
#include <vector>

using common::spool::is_queue_id;
using common::spool::kQueueIdLen;
using common::spool::new_queue_id;

TEST_CASE("queue id format") {
  std::string id = new_queue_id();
  CHECK(id.size() == kQueueIdLen);
  CHECK(is_queue_id(id));
  for (char c : id) CHECK(((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')));
  // The first 13 digits are the time in microseconds.
  timeval tv;
  gettimeofday(&tv, nullptr);
  unsigned long long now_us =
      static_cast<unsigned long long>(tv.tv_sec) * 1000000ULL + static_cast<unsigned long long>(tv.tv_usec);
  unsigned long long id_us = std::stoull(id.substr(0, 13), nullptr, 16);
  CHECK(id_us <= now_us);
  CHECK(now_us - id_us < 10ULL * 1000000ULL);

  CHECK(is_queue_id("0123456789ABCDEF"));
  CHECK_FALSE(is_queue_id("0123456789abcdef"));
  CHECK_FALSE(is_queue_id("0123456789ABCDE"));
  CHECK_FALSE(is_queue_id("0123456789ABCDEF0"));
  CHECK_FALSE(is_queue_id("0123456789ABCDEG"));
  CHECK_FALSE(is_queue_id("../0123456789ABC"));
  CHECK_FALSE(is_queue_id(""));
  CHECK_FALSE(is_queue_id(std::string_view("0123456789ABCDE\0", 16)));
}

TEST_CASE("10000 ids are unique and increasing") {
  std::vector<std::string> ids;
  ids.reserve(10000);
  for (int i = 0; i < 10000; ++i) ids.push_back(new_queue_id());
  std::set<std::string> unique(ids.begin(), ids.end());
  CHECK(unique.size() == ids.size());
  // Ids sort by arrival: strictly increasing within one process, even within one
  // microsecond.
  for (std::size_t i = 1; i < ids.size(); ++i) {
    INFO(ids[i - 1], " then ", ids[i]);
    CHECK(ids[i - 1].substr(0, 13) < ids[i].substr(0, 13));
  }
}
