// Thin RAII over LMDB: Env, ReadTxn, WriteTxn. A WriteTxn aborts in its destructor unless
// commit() succeeded. Env::update() runs a write transaction and, like Postfix's slmdb,
// grows the map and retries when it is full, so a growing database never fails a write
// that the disk has room for. Readers pick up a map grown by another process.
#pragma once

#include <lmdb.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::lmdb {

class Env;

class ReadTxn {
 public:
  explicit ReadTxn(MDB_txn* t) : txn_(t) {}
  ~ReadTxn();
  ReadTxn(ReadTxn&& o) noexcept : txn_(o.txn_) { o.txn_ = nullptr; }
  ReadTxn(const ReadTxn&) = delete;

  // Value of `key`, nullopt if absent. The view is valid until the transaction ends.
  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key) const;
  // Calls fn(key, value) for each entry in key order from `from` (all if empty); stops
  // when fn returns false.
  Status scan(MDB_dbi dbi, std::string_view from,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  MDB_txn* get_txn() const { return txn_; }

 private:
  MDB_txn* txn_;
};

class WriteTxn {
 public:
  explicit WriteTxn(MDB_txn* t) : txn_(t) {}
  ~WriteTxn();
  WriteTxn(WriteTxn&& o) noexcept : txn_(o.txn_) { o.txn_ = nullptr; }
  WriteTxn(const WriteTxn&) = delete;

  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key) const;
  // Errors carry the LMDB code in err() (MDB_MAP_FULL triggers a retry in Env::update).
  Status put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  // Returns ok(false) if the key was absent.
  Result<bool> del(MDB_dbi dbi, std::string_view key);
  Status clear(MDB_dbi dbi);
  Status scan(MDB_dbi dbi, std::string_view from,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  Status commit();
  MDB_txn* get_txn() const { return txn_; }

 private:
  MDB_txn* txn_;
};

struct EnvOptions {
  std::size_t map_size = 64u << 20;
  std::size_t max_map_size = 64ull << 30;
  unsigned max_dbs = 8;
  bool read_only = false;
  mode_t mode = 0640;
  bool no_sync = false;  // only for throw-away databases in tests
};

class Env {
 public:
  // Opens `path` as a single file (MDB_NOSUBDIR; the lock file is path + "-lock").
  static Result<std::unique_ptr<Env>> open(const std::string& path, const EnvOptions& opt);
  ~Env();
  Env(const Env&) = delete;

  // Named database handle; created if `create` and the env is writable.
  Result<MDB_dbi> dbi(const std::string& name, bool create);

  Result<ReadTxn> read();
  // Runs fn in a write transaction and commits it; grows the map and retries on
  // MDB_MAP_FULL. fn may run more than once, so it must not have side effects outside
  // the transaction.
  Status update(const std::function<Status(WriteTxn&)>& fn);
  const std::string& path() const { return path_; }
  MDB_env* get() const { return env_; }

 private:
  Env(MDB_env* e, std::string path, EnvOptions opt) : env_(e), path_(std::move(path)), opt_(opt) {}
  MDB_env* env_;
  std::string path_;
  EnvOptions opt_;
  std::map<std::string, MDB_dbi> dbis_;
};

Status lmdb_error(const std::string& what, int rc);

}  // namespace common::lmdb
