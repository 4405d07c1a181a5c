// Implementation of the LMDB wrappers (see lmdb.hpp).
#include "common/lmdb/lmdb.hpp"

namespace common::lmdb {
namespace {

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

Result<std::optional<std::string_view>> txn_get(MDB_txn* t, MDB_dbi dbi, std::string_view key) {
  MDB_val k = val(key), v{};
  int rc = mdb_get(t, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return lmdb_error("mdb_get", rc);
  return std::optional<std::string_view>(view(v));
}

Status txn_scan(MDB_txn* t, MDB_dbi dbi, std::string_view from,
                const std::function<bool(std::string_view, std::string_view)>& fn) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(t, dbi, &c);
  if (rc != 0) return lmdb_error("mdb_cursor_open", rc);
  MDB_val k = val(from), v{};
  rc = mdb_cursor_get(c, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0) {
    if (!fn(view(k), view(v))) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error("mdb_cursor_get", rc);
  return Status::ok();
}

}  // namespace

Status lmdb_error(const std::string& what, int rc) {
  return Status::error(what + ": " + mdb_strerror(rc), rc);
}

ReadTxn::~ReadTxn() {
  if (txn_) mdb_txn_abort(txn_);
}

Result<std::optional<std::string_view>> ReadTxn::get(MDB_dbi dbi, std::string_view key) const {
  return txn_get(txn_, dbi, key);
}

Status ReadTxn::scan(MDB_dbi dbi, std::string_view from,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return txn_scan(txn_, dbi, from, fn);
}

WriteTxn::~WriteTxn() {
  if (txn_) mdb_txn_abort(txn_);
}

Result<std::optional<std::string_view>> WriteTxn::get(MDB_dbi dbi, std::string_view key) const {
  return txn_get(txn_, dbi, key);
}

Status WriteTxn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, flags);
  if (rc != 0) return lmdb_error("mdb_put", rc);
  return Status::ok();
}

Result<bool> WriteTxn::del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return lmdb_error("mdb_del", rc);
  return true;
}

Status WriteTxn::clear(MDB_dbi dbi) {
  int rc = mdb_drop(txn_, dbi, 0);
  if (rc != 0) return lmdb_error("mdb_drop", rc);
  return Status::ok();
}

Status WriteTxn::scan(MDB_dbi dbi, std::string_view from,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return txn_scan(txn_, dbi, from, fn);
}

Status WriteTxn::commit() {
  MDB_txn* t = txn_;
  txn_ = nullptr;
  int rc = mdb_txn_commit(t);
  if (rc != 0) return lmdb_error("mdb_txn_commit", rc);
  return Status::ok();
}

Result<std::unique_ptr<Env>> Env::open(const std::string& path, const EnvOptions& opt) {
  MDB_env* e = nullptr;
  int rc = mdb_env_create(&e);
  if (rc != 0) return lmdb_error("mdb_env_create", rc);
  std::unique_ptr<Env> env(new Env(e, path, opt));
  mdb_env_set_maxdbs(e, opt.max_dbs);
  mdb_env_set_maxreaders(e, 512);
  if (!opt.read_only) mdb_env_set_mapsize(e, opt.map_size);
  unsigned flags = MDB_NOSUBDIR | MDB_NOTLS;
  if (opt.read_only) flags |= MDB_RDONLY;
  if (opt.no_sync) flags |= MDB_NOSYNC;
  rc = mdb_env_open(e, path.c_str(), flags, opt.mode);
  if (rc != 0) return lmdb_error("open " + path, rc);
  // A map grown by another process may already be larger than ours.
  MDB_envinfo info;
  if (mdb_env_info(e, &info) == 0 && info.me_mapsize > env->opt_.map_size)
    env->opt_.map_size = info.me_mapsize;
  return env;
}

Env::~Env() { mdb_env_close(env_); }

Result<MDB_dbi> Env::dbi(const std::string& name, bool create) {
  auto it = dbis_.find(name);
  if (it != dbis_.end()) return it->second;
  MDB_txn* t = nullptr;
  bool write = create && !opt_.read_only;
  int rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &t);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(env_, 0);
    rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &t);
  }
  if (rc != 0) return lmdb_error("mdb_txn_begin", rc);
  MDB_dbi d;
  rc = mdb_dbi_open(t, name.c_str(), write ? MDB_CREATE : 0, &d);
  if (rc != 0) {
    mdb_txn_abort(t);
    return lmdb_error("open database '" + name + "' in " + path_, rc);
  }
  rc = mdb_txn_commit(t);
  if (rc != 0) return lmdb_error("mdb_txn_commit", rc);
  dbis_[name] = d;
  return d;
}

Result<ReadTxn> Env::read() {
  MDB_txn* t = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size and try again.
    mdb_env_set_mapsize(env_, 0);
    rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
  }
  if (rc != 0) return lmdb_error("mdb_txn_begin", rc);
  return ReadTxn(t);
}

Status Env::update(const std::function<Status(WriteTxn&)>& fn) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &t);
    if (rc == MDB_MAP_RESIZED) {
      mdb_env_set_mapsize(env_, 0);
      rc = mdb_txn_begin(env_, nullptr, 0, &t);
    }
    if (rc != 0) return lmdb_error("mdb_txn_begin", rc);
    Status st;
    {
      WriteTxn w(t);
      st = fn(w);
      if (st.is_ok()) st = w.commit();
    }  // an uncommitted transaction is aborted here: LMDB resizes only with none active
    if (st.is_ok()) return st;
    if (st.err() != MDB_MAP_FULL) return st;
    // Grow and retry, from the map's real size (another process may have grown it).
    MDB_envinfo info;
    if (mdb_env_info(env_, &info) == 0 && info.me_mapsize > opt_.map_size) opt_.map_size = info.me_mapsize;
    std::size_t next = opt_.map_size * 2;
    if (next > opt_.max_map_size) return Status::error(path_ + ": database full (map at maximum size)");
    if (int r2 = mdb_env_set_mapsize(env_, next); r2 != 0) return lmdb_error("mdb_env_set_mapsize", r2);
    opt_.map_size = next;
  }
  return Status::error(path_ + ": database full after retries");
}

}  // namespace common::lmdb
