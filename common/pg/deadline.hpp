// The deadline of the database work running on this thread. DbQueue (db_queue.hpp) sets
// it around each task, counted from when the task was queued, so that the time it waited
// behind others counts too; every Conn step on the thread then ends by it (conn.hpp).
// Outside a task there is none, and each step gets Settings::timeout_ms.
#pragma once

#include <chrono>
#include <optional>

namespace common::pg {

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

Deadline current_deadline();

class DeadlineScope {
 public:
  explicit DeadlineScope(std::chrono::steady_clock::time_point t);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

 private:
  Deadline saved_;
};

}  // namespace common::pg
