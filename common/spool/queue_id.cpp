// Queue id generation (see queue_id.hpp).
#include "common/spool/queue_id.hpp"

#include <sys/random.h>
#include <sys/time.h>

#include <cstdint>
#include <cstdio>

namespace common::spool {

std::string new_queue_id() {
  static std::uint64_t last = 0;
  timeval tv;
  gettimeofday(&tv, nullptr);
  std::uint64_t us =
      static_cast<std::uint64_t>(tv.tv_sec) * 1000000u + static_cast<std::uint64_t>(tv.tv_usec);
  // Strictly increasing within one process even if the clock stalls or steps back.
  if (us <= last) us = last + 1;
  last = us;
  std::uint16_t rnd = 0;
  if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
    rnd = static_cast<std::uint16_t>(tv.tv_usec ^ 0x5a5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%013llX%03X", static_cast<unsigned long long>(us & 0xFFFFFFFFFFFFFULL),
                static_cast<unsigned>(rnd & 0xFFF));
  return buf;
}

bool is_queue_id(std::string_view s) {
  if (s.size() != kQueueIdLen) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

}  // namespace common::spool
