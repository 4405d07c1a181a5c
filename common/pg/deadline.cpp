// The per-thread deadline (see deadline.hpp).
#include "common/pg/deadline.hpp"

namespace common::pg {
namespace {

thread_local Deadline t_deadline;

}  // namespace

Deadline current_deadline() { return t_deadline; }

DeadlineScope::DeadlineScope(std::chrono::steady_clock::time_point t) : saved_(t_deadline) {
  if (!t_deadline || t < *t_deadline) t_deadline = t;
}

DeadlineScope::~DeadlineScope() { t_deadline = saved_; }

}  // namespace common::pg
