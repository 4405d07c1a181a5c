// relayctl's commands (see cli.hpp and relayctl(8)). Each command validates all of its
// arguments first, then does its work in one LMDB transaction, so a bad argument or a
// failure leaves the database as it was.
#include "relayctl/cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/io/fdio.hpp"
#include "common/relaydb/relaydb.hpp"

namespace relayctl {
namespace {

using common::relaydb::Entry;
using common::relaydb::RelayDb;
namespace rdb = common::relaydb;

constexpr std::size_t kMaxLoadFile = 256u << 20;

int fail(Output& o, int code, const std::string& msg) {
  o.err += "relayctl: " + msg + "\n";
  return code;
}

int usage_error(Output& o, const std::string& msg) {
  o.err += "relayctl: " + msg + "\n" + usage();
  return kExitUsage;
}

common::Status become_owner(const Context& ctx) {
  if (!ctx.become_owner) return common::Status::ok();
  return ctx.become_owner();
}

common::Result<std::unique_ptr<rdb::RelayStore>> open_rw(const Context& ctx) {
  if (ctx.open_store) return ctx.open_store();
  MB_TRY(become_owner(ctx));
  auto db = RelayDb::open(ctx.db_path, RelayDb::Mode::kWrite);
  if (!db) return db.status();
  MB_TRY(rdb::fix_ownership(ctx.db_path));
  return std::unique_ptr<rdb::RelayStore>(std::move(*db));
}

// For list and dump: a database that does not exist yet is empty.
common::Result<std::vector<Entry>> read_all(const Context& ctx) {
  if (ctx.open_store) {
    auto db = ctx.open_store();
    if (!db) return db.status();
    return db.value()->scan();
  }
  if (::access(ctx.db_path.c_str(), F_OK) != 0 && errno == ENOENT) return std::vector<Entry>();
  MB_TRY(become_owner(ctx));
  auto db = RelayDb::open(ctx.db_path, RelayDb::Mode::kRead);
  if (!db) return db.status();
  return db.value()->scan();
}

int cmd_add(const std::vector<std::string>& a, const Context& ctx, Output& o) {
  if (a.size() < 2 || a.size() > 3) return usage_error(o, "add takes an address and an optional time");
  auto ip = rdb::normalize(a[1]);
  if (!ip) return fail(o, kExitUsage, ip.message());
  std::int64_t ticks = ctx.now;
  if (a.size() == 3) {
    auto t = rdb::parse_ticks(a[2]);
    if (!t) return fail(o, kExitUsage, t.message());
    ticks = *t;
  }
  auto db = open_rw(ctx);
  if (!db) return fail(o, kExitError, db.message());
  if (auto st = db.value()->stamp(*ip, ticks); !st) return fail(o, kExitError, st.message());
  return kExitOk;
}

int cmd_delete(const std::vector<std::string>& a, const Context& ctx, Output& o) {
  if (a.size() < 2) return usage_error(o, "delete takes one or more addresses");
  std::vector<std::string> ips;
  for (std::size_t i = 1; i < a.size(); ++i) {
    auto ip = rdb::normalize(a[i]);
    if (!ip) return fail(o, kExitUsage, ip.message());
    ips.push_back(*ip);
  }
  auto db = open_rw(ctx);
  if (!db) return fail(o, kExitError, db.message());
  int code = kExitOk;
  std::vector<std::string> absent;
  auto n = db.value()->erase(ips, &absent);
  if (!n) return fail(o, kExitError, n.message());
  for (const auto& ip : absent) code = fail(o, kExitNotFound, ip + ": not in the relay database");
  return code;
}

// The optional minutes argument of expire and list.
bool minutes_arg(const std::vector<std::string>& a, std::int64_t dflt, std::int64_t* seconds, Output& o,
                 int* code) {
  if (a.size() > 2) {
    *code = usage_error(o, a[0] + " takes at most one number of minutes");
    return false;
  }
  *seconds = dflt;
  if (a.size() == 2) {
    auto n = rdb::parse_minutes(a[1]);
    if (!n) {
      *code = fail(o, kExitUsage, n.message());
      return false;
    }
    *seconds = *n * 60;
  }
  return true;
}

int cmd_expire(const std::vector<std::string>& a, const Context& ctx, Output& o) {
  std::int64_t seconds = 0;
  int code = kExitOk;
  if (!minutes_arg(a, ctx.lifetime, &seconds, o, &code)) return code;
  auto db = open_rw(ctx);
  if (!db) return fail(o, kExitError, db.message());
  auto n = db.value()->expire(ctx.now, seconds);
  if (!n) return fail(o, kExitError, n.message());
  return kExitOk;
}

int cmd_list(const std::vector<std::string>& a, const Context& ctx, Output& o) {
  std::int64_t seconds = 0;
  int code = kExitOk;
  // Without n, "old" means what it means to expire: older than relay_lifetime.
  if (!minutes_arg(a, ctx.lifetime, &seconds, o, &code)) return code;
  auto all = read_all(ctx);
  if (!all) return fail(o, kExitError, all.message());
  for (const auto& e : *all)
    if (rdb::older_than(e.ticks, ctx.now, seconds)) o.out += rdb::format_entry(e);
  return kExitOk;
}

int cmd_dump(const std::vector<std::string>& a, const Context& ctx, Output& o) {
  if (a.size() != 1) return usage_error(o, "dump takes no arguments");
  auto all = read_all(ctx);
  if (!all) return fail(o, kExitError, all.message());
  for (const auto& e : *all) o.out += rdb::format_entry(e);
  return kExitOk;
}

int cmd_load(const std::vector<std::string>& a, const Context& ctx, Output& o,
             const StdinReader& read_stdin) {
  bool merge = false;
  std::size_t i = 1;
  if (i < a.size() && (a[i] == "-m" || a[i] == "--merge")) {
    merge = true;
    ++i;
  }
  if (i + 1 != a.size()) return usage_error(o, "load takes [-m] and one file name (or - for stdin)");
  const std::string& file = a[i];
  common::Result<std::string> text = std::string();
  std::string name = file;
  if (file == "-") {
    name = "(stdin)";
    if (!read_stdin) return fail(o, kExitUsage, "no standard input");
    text = read_stdin();
  } else {
    text = common::io::read_file(file, kMaxLoadFile);
  }
  if (!text) return fail(o, kExitUsage, "cannot read " + name + ": " + text.message());
  auto entries = rdb::parse_dump(*text, name);
  if (!entries) return fail(o, kExitUsage, entries.message() + " (nothing loaded)");
  auto db = open_rw(ctx);
  if (!db) return fail(o, kExitError, db.message());
  if (auto st = db.value()->load(*entries, !merge); !st) return fail(o, kExitError, st.message());
  return kExitOk;
}

}  // namespace

std::string usage() {
  return "usage: relayctl [-c config-file] command [arg] [...]\n"
         "  add ip [ticks]     insert address with current timestamp (or ticks)\n"
         "  delete ip [...]    remove specified address(es)\n"
         "  expire [n]         expire all old (or older than n minutes) entries\n"
         "  list [n]           list all old (or older than n minutes) entries\n"
         "  dump               list every entry, including the future timestamped\n"
         "  load [-m] FILE|-   replace (-m: merge) the database with dump output\n";
}

int run(const std::vector<std::string>& args, const Context& ctx, Output& o, const StdinReader& read_stdin) {
  if (args.empty()) return usage_error(o, "no command given");
  const std::string& c = args[0];
  if (c == "add") return cmd_add(args, ctx, o);
  if (c == "delete") return cmd_delete(args, ctx, o);
  if (c == "expire") return cmd_expire(args, ctx, o);
  if (c == "list") return cmd_list(args, ctx, o);
  if (c == "dump") return cmd_dump(args, ctx, o);
  if (c == "load") return cmd_load(args, ctx, o, read_stdin);
  return usage_error(o, "unknown command '" + c + "'");
}

}  // namespace relayctl
