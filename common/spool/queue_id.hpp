// Queue ids: 16 upper-case hex digits, the first 13 the arrival time in microseconds,
// the last 3 random, so ids sort by arrival and two writers in the same microsecond
// still differ. The id names the queue file and starts every log line about the message.
#pragma once

#include <string>
#include <string_view>

namespace common::spool {

inline constexpr std::size_t kQueueIdLen = 16;

std::string new_queue_id();
bool is_queue_id(std::string_view s);

}  // namespace common::spool
