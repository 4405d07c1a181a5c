// Persistent delivery state (spool/state/queue.mdb, LMDB): one record per message that
// has been deferred at least once, keyed by queue id. Writes are staged in memory and
// committed together (one LMDB transaction, two fsyncs) at the end of a loop turn.
// Messages delivered on their first attempt never get a record.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/lmdb/lmdb.hpp"
#include "common/result.hpp"
#include "queue-manager/message.hpp"

namespace qmgr {

class StateDb {
 public:
  static common::Result<std::unique_ptr<StateDb>> open(const std::string& path);

  void stage_put(const Message& m);
  void stage_erase(const std::string& id);
  bool dirty() const { return !staged_.empty(); }
  common::Status commit();

  // Calls fn for every stored record; undecodable records are reported through `bad`.
  common::Status load_all(const std::function<void(Message&&)>& fn,
                          const std::function<void(const std::string& id)>& bad);

 private:
  explicit StateDb(std::unique_ptr<common::lmdb::Env> env) : env_(std::move(env)) {}
  std::unique_ptr<common::lmdb::Env> env_;
  MDB_dbi dbi_ = 0;
  std::map<std::string, std::optional<std::string>> staged_;  // nullopt: erase
};

}  // namespace qmgr
