// Unit tests for the LMDB wrappers (common/lmdb/lmdb.hpp) on real database files: map
// growth on MDB_MAP_FULL, readers and writers picking up a map grown by another process,
// and WriteTxn's abort-unless-committed rule.
#include "common/lmdb/lmdb.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace common::lmdb;
using common::Status;

namespace {

struct TempDb {
  std::string dir, path;
  TempDb() {
    char d[] = "/tmp/mailbag-lmdb-test-XXXXXX";
    REQUIRE(mkdtemp(d) != nullptr);
    dir = d;
    path = dir + "/test.mdb";
  }
  ~TempDb() {
    unlink(path.c_str());
    unlink((path + "-lock").c_str());
    rmdir(dir.c_str());
  }
};

EnvOptions small(std::size_t map = 64 * 1024) {
  EnvOptions o;
  o.map_size = map;
  o.max_map_size = 256u << 20;
  o.no_sync = true;
  return o;
}

std::string key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%08d", i);
  return buf;
}

std::size_t map_size_of(Env& env) {
  MDB_envinfo info;
  REQUIRE(mdb_env_info(env.get(), &info) == 0);
  return info.me_mapsize;
}

// Value of `k` through a fresh read transaction ("" if absent).
std::string read_value(Env& env, MDB_dbi dbi, const std::string& k) {
  auto t = env.read();
  REQUIRE_MESSAGE(t.is_ok(), t.message());
  auto v = t->get(dbi, k);
  REQUIRE_MESSAGE(v.is_ok(), v.message());
  return *v ? std::string(**v) : std::string();
}

}  // namespace

TEST_CASE("put, get, del, scan, clear") {
  TempDb db;
  auto env = Env::open(db.path, small(1 << 20));
  REQUIRE_MESSAGE(env.is_ok(), env.message());
  auto dbi = (*env)->dbi("things", true);
  REQUIRE(dbi.is_ok());
  CHECK((*env)->dbi("things", true).value() == *dbi);  // cached
  REQUIRE((*env)
              ->update([&](WriteTxn& t) -> Status {
                for (int i = 0; i < 10; ++i) MB_TRY(t.put(*dbi, key(i), "v" + std::to_string(i)));
                auto in_txn = t.get(*dbi, key(3));
                if (!in_txn || !*in_txn || **in_txn != "v3") return Status::error("read own write");
                return Status::ok();
              })
              .is_ok());
  CHECK(read_value(**env, *dbi, key(7)) == "v7");
  CHECK(read_value(**env, *dbi, "absent").empty());

  auto t = (*env)->read();
  REQUIRE(t.is_ok());
  std::vector<std::string> seen;
  REQUIRE(t->scan(*dbi, key(5), [&](std::string_view k, std::string_view) {
             seen.emplace_back(k);
             return seen.size() < 3;
           }).is_ok());
  CHECK(seen == std::vector<std::string>{key(5), key(6), key(7)});
  seen.clear();
  REQUIRE(t->scan(*dbi, "", [&](std::string_view k, std::string_view) {
             seen.emplace_back(k);
             return true;
           }).is_ok());
  CHECK(seen.size() == 10);
  seen.clear();
  REQUIRE(t->scan(*dbi, "zzz", [&](std::string_view k, std::string_view) {
             seen.emplace_back(k);
             return true;
           }).is_ok());
  CHECK(seen.empty());
  { ReadTxn done = std::move(*t); }  // end the read transaction

  bool existed = false, missing = true;
  REQUIRE((*env)
              ->update([&](WriteTxn& w) -> Status {
                auto a = w.del(*dbi, key(1));
                auto b = w.del(*dbi, "absent");
                if (!a || !b) return Status::error("del failed");
                existed = *a;
                missing = *b;
                return Status::ok();
              })
              .is_ok());
  CHECK(existed);
  CHECK_FALSE(missing);
  CHECK(read_value(**env, *dbi, key(1)).empty());
  // MDB_NOOVERWRITE surfaces as an error carrying the LMDB code.
  Status dup = (*env)->update([&](WriteTxn& w) { return w.put(*dbi, key(2), "x", MDB_NOOVERWRITE); });
  CHECK_FALSE(dup.is_ok());
  CHECK(dup.err() == MDB_KEYEXIST);
  CHECK(read_value(**env, *dbi, key(2)) == "v2");
  REQUIRE((*env)->update([&](WriteTxn& w) { return w.clear(*dbi); }).is_ok());
  CHECK(read_value(**env, *dbi, key(2)).empty());
}

TEST_CASE("WriteTxn aborts unless committed") {
  TempDb db;
  auto env = Env::open(db.path, small(1 << 20));
  REQUIRE(env.is_ok());
  auto dbi = (*env)->dbi("d", true);
  REQUIRE(dbi.is_ok());
  {
    MDB_txn* raw = nullptr;
    REQUIRE(mdb_txn_begin((*env)->get(), nullptr, 0, &raw) == 0);
    WriteTxn w(raw);
    REQUIRE(w.put(*dbi, "dropped", "1").is_ok());
  }  // destroyed without commit
  CHECK(read_value(**env, *dbi, "dropped").empty());
  {
    MDB_txn* raw = nullptr;
    REQUIRE(mdb_txn_begin((*env)->get(), nullptr, 0, &raw) == 0);
    WriteTxn w(raw);
    REQUIRE(w.put(*dbi, "kept", "1").is_ok());
    WriteTxn moved(std::move(w));  // the moved-from one must not abort it
    REQUIRE(moved.commit().is_ok());
  }
  CHECK(read_value(**env, *dbi, "kept") == "1");
  // An update whose function fails commits nothing, and fn's error comes back as is.
  Status st = (*env)->update([&](WriteTxn& w) -> Status {
    MB_TRY(w.put(*dbi, "half", "1"));
    return Status::error("changed my mind", 12345);
  });
  CHECK(st.message() == "changed my mind");
  CHECK(st.err() == 12345);
  CHECK(read_value(**env, *dbi, "half").empty());
}

TEST_CASE("update grows the map on MDB_MAP_FULL") {
  TempDb db;
  auto env = Env::open(db.path, small(64 * 1024));
  REQUIRE_MESSAGE(env.is_ok(), env.message());
  auto dbi = (*env)->dbi("big", true);
  REQUIRE(dbi.is_ok());
  std::size_t before = map_size_of(**env);
  const std::string value(1000, 'v');
  // Many small transactions, then one large one: both must grow the map as needed.
  for (int i = 0; i < 500; ++i) {
    Status st = (*env)->update([&](WriteTxn& w) { return w.put(*dbi, key(i), value); });
    REQUIRE_MESSAGE(st.is_ok(), "insert ", i, ": ", st.message());
  }
  int runs = 0;
  Status big = (*env)->update([&](WriteTxn& w) -> Status {
    ++runs;
    for (int i = 500; i < 3000; ++i) MB_TRY(w.put(*dbi, key(i), value));
    return Status::ok();
  });
  REQUIRE_MESSAGE(big.is_ok(), big.message());
  CHECK(runs > 1);  // it really did run out of room and retry
  CHECK(map_size_of(**env) > before);
  CHECK(read_value(**env, *dbi, key(0)) == value);
  CHECK(read_value(**env, *dbi, key(2999)) == value);

  // The ceiling holds: a database that would pass max_map_size fails cleanly.
  TempDb db2;
  EnvOptions capped = small(64 * 1024);
  capped.max_map_size = 256 * 1024;
  auto env2 = Env::open(db2.path, capped);
  REQUIRE(env2.is_ok());
  auto d2 = (*env2)->dbi("x", true);
  REQUIRE(d2.is_ok());
  Status full = (*env2)->update([&](WriteTxn& w) -> Status {
    for (int i = 0; i < 5000; ++i) MB_TRY(w.put(*d2, key(i), value));
    return Status::ok();
  });
  REQUIRE_FALSE(full.is_ok());
  CHECK(full.message().find("database full") != std::string::npos);
  // And the environment is still usable afterwards.
  CHECK((*env2)->update([&](WriteTxn& w) { return w.put(*d2, "small", "1"); }).is_ok());
  CHECK(read_value(**env2, *d2, "small") == "1");
}

TEST_CASE("readers and writers pick up a map grown by another process") {
  TempDb db;
  auto env = Env::open(db.path, small(64 * 1024));
  REQUIRE(env.is_ok());
  auto dbi = (*env)->dbi("shared", true);
  REQUIRE(dbi.is_ok());
  REQUIRE((*env)->update([&](WriteTxn& w) { return w.put(*dbi, "first", "1"); }).is_ok());
  std::size_t before = map_size_of(**env);

  // LMDB forbids opening one environment twice in a process, so the other writer is a
  // child process with its own handle.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto other = Env::open(db.path, small(64 * 1024));
    if (!other) _exit(1);
    auto d = (*other)->dbi("shared", true);
    if (!d) _exit(2);
    const std::string value(1000, 'w');
    Status st = (*other)->update([&](WriteTxn& w) -> Status {
      for (int i = 0; i < 2000; ++i) MB_TRY(w.put(*d, key(i), value));
      return Status::ok();
    });
    _exit(st.is_ok() ? 0 : 3);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  // Our handle still has the small map; the next read must adopt the larger one.
  CHECK(map_size_of(**env) == before);
  CHECK(read_value(**env, *dbi, key(1999)) == std::string(1000, 'w'));
  CHECK(read_value(**env, *dbi, "first") == "1");
  CHECK(map_size_of(**env) > before);
  // And so must a write, including one that needs to grow further still.
  const std::string more(1000, 'm');
  Status st = (*env)->update([&](WriteTxn& w) -> Status {
    for (int i = 2000; i < 4000; ++i) MB_TRY(w.put(*dbi, key(i), more));
    return Status::ok();
  });
  REQUIRE_MESSAGE(st.is_ok(), st.message());
  CHECK(read_value(**env, *dbi, key(3999)) == more);
}

TEST_CASE("read-only environments") {
  TempDb db;
  {
    auto env = Env::open(db.path, small(1 << 20));
    REQUIRE(env.is_ok());
    auto dbi = (*env)->dbi("ro", true);
    REQUIRE(dbi.is_ok());
    REQUIRE((*env)->update([&](WriteTxn& w) { return w.put(*dbi, "k", "v"); }).is_ok());
  }
  EnvOptions ro = small();
  ro.read_only = true;
  auto env = Env::open(db.path, ro);
  REQUIRE_MESSAGE(env.is_ok(), env.message());
  auto dbi = (*env)->dbi("ro", false);
  REQUIRE(dbi.is_ok());
  CHECK(read_value(**env, *dbi, "k") == "v");
  CHECK_FALSE((*env)->dbi("not-there", true).is_ok());  // cannot create read-only
  CHECK_FALSE((*env)->update([&](WriteTxn& w) { return w.put(*dbi, "k", "x"); }).is_ok());

  // Opening a file that does not exist read-only fails; so does a missing directory.
  EnvOptions ro2 = ro;
  CHECK_FALSE(Env::open(db.dir + "/missing.mdb", ro2).is_ok());
  CHECK_FALSE(Env::open(db.dir + "/no/such/dir.mdb", small()).is_ok());
}
