// Implementation of the queue state store (see state_db.hpp).
#include "queue-manager/state_db.hpp"

#include "common/ipc/codec.hpp"
#include "common/spool/fault.hpp"

namespace qmgr {

using common::Result;
using common::Status;

Result<std::unique_ptr<StateDb>> StateDb::open(const std::string& path) {
  common::lmdb::EnvOptions opt;
  opt.map_size = 64u << 20;
  opt.mode = 0600;
  auto env = common::lmdb::Env::open(path, opt);
  if (!env) return env.status();
  std::unique_ptr<StateDb> db(new StateDb(std::move(*env)));
  auto d = db->env_->dbi("messages", true);
  if (!d) return d.status();
  db->dbi_ = *d;
  return db;
}

void StateDb::stage_put(const Message& m) {
  common::ipc::Encoder e;
  e(m);
  staged_[m.id] = std::move(e.out);
}

void StateDb::stage_erase(const std::string& id) { staged_[id] = std::nullopt; }

Status StateDb::commit() {
  if (staged_.empty()) return Status::ok();
  if (common::spool::fault::hit("qmgr.state_commit")) return Status::error("injected fault", 5);
  Status st = env_->update([&](common::lmdb::WriteTxn& t) -> Status {
    for (const auto& [id, v] : staged_) {
      if (v) {
        MB_TRY(t.put(dbi_, id, *v));
      } else {
        auto r = t.del(dbi_, id);
        if (!r) return r.status();
      }
    }
    return Status::ok();
  });
  if (st) staged_.clear();
  return st;
}

Status StateDb::load_all(const std::function<void(Message&&)>& fn,
                         const std::function<void(const std::string& id)>& bad) {
  auto t = env_->read();
  if (!t) return t.status();
  return t->scan(dbi_, "", [&](std::string_view k, std::string_view v) {
    Message m;
    common::ipc::Decoder d(v);
    d(m);
    if (!d.ok() || !d.at_end() || m.id != k) {
      bad(std::string(k));
      return true;
    }
    fn(std::move(m));
    return true;
  });
}

}  // namespace qmgr
