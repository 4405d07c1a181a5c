// The database work queue (see db_queue.hpp).
#include "common/pg/db_queue.hpp"

#include "common/pg/backend.hpp"

namespace common::pg {

DbQueue::DbQueue(const config::Config& cfg)
    : DbQueue(enabled(cfg), std::chrono::seconds(cfg.postgresql_timeout)) {}

DbQueue::DbQueue(bool offload, std::chrono::milliseconds timeout, std::size_t max_waiting)
    : timeout_(timeout), queue_(offload ? std::make_unique<io::WorkQueue>(1, max_waiting) : nullptr) {}

}  // namespace common::pg
