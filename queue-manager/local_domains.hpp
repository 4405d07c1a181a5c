// Which transport a recipient takes (local for our domains, remote for the rest), for
// Manager::classify, without ever waiting for the database on the event loop. With LMDB
// the accounts database is asked each time (a read takes microseconds). With PostgreSQL
// the queue manager keeps the list of domains in memory: read once at start, before the
// loop runs, then again once a second on the database thread (common/pg/db_queue.hpp;
// the per-node cache and its notifications make that one cheap call while nothing
// changes). A domain added on another node is seen here within about a second; a message
// classified as remote in that second is deferred by the remote agent ("loops back to
// myself") and delivered locally at its next try. While the database cannot be read the
// last list serves, so queued mail keeps flowing.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "common/accounts/address_book.hpp"
#include "common/accounts/lookup.hpp"
#include "common/config/config.hpp"
#include "common/io/event.hpp"
#include "common/pg/db_queue.hpp"
#include "common/result.hpp"

namespace qmgr {

class LocalDomains {
 public:
  LocalDomains(event_base* base, const common::config::Config& cfg, common::accounts::Lookup& accounts);
  // Reads the list once (PostgreSQL) and starts the refreshes.
  common::Status start();
  common::Result<common::accounts::Transport> transport(const std::string& address);

 private:
  static void tick_cb(evutil_socket_t, short, void* self) noexcept;
  void refresh();

  event_base* base_;
  common::accounts::Lookup& accounts_;  // on the database thread only, when there is one
  common::accounts::Rules rules_;
  std::unique_ptr<common::accounts::MemoryLookup> domains_;  // PostgreSQL: the last list read
  bool refreshing_ = false;
  common::io::EventPtr tick_;
  common::pg::DbQueue db_;  // last: its thread uses accounts_
};

}  // namespace qmgr
