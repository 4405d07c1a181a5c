// Implementation of the relay database (see relaydb.hpp).
#include "common/relaydb/relaydb.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "common/io/unique_fd.hpp"
#include "common/log/log.hpp"
#include "common/privsep/drop.hpp"

namespace common::relaydb {
namespace {

constexpr const char* kDbName = "relay";

Result<std::int64_t> parse_decimal(std::string_view text, std::int64_t max, const char* what) {
  if (text.empty() || text.size() > 19)
    return Status::error(std::string("bad ") + what + " '" + log::printable(text, 60) + "'");
  std::int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return Status::error(std::string("bad ") + what + " '" + log::printable(text, 60) + "'");
    n = n * 10 + (c - '0');  // checked against max at each digit, and max < INT64_MAX / 10
    if (n > max)
      return Status::error(std::string(what) + " out of range: '" + log::printable(text, 60) + "'");
  }
  return n;
}

// Stored values are written by us; anything else means a damaged file.
Result<std::int64_t> stored_ticks(std::string_view key, std::string_view value) {
  auto t = parse_decimal(value, kMaxTicks, "time stamp");
  if (!t) return Status::error("damaged entry for '" + std::string(key) + "': " + t.message());
  return t;
}

}  // namespace

Result<std::string> normalize(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() > INET6_ADDRSTRLEN || s.find('\0') != std::string::npos)
    return Status::error("invalid address '" + log::printable(text, 60) + "'");
  char buf[INET6_ADDRSTRLEN];
  in_addr a4;
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    inet_ntop(AF_INET, &a4, buf, sizeof buf);
    return std::string(buf);
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      std::memcpy(&a4, &a6.s6_addr[12], 4);
      inet_ntop(AF_INET, &a4, buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    }
    return std::string(buf);
  }
  return Status::error("invalid address '" + log::printable(text, 60) + "'");
}

std::string from_sockaddr(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN];
  if (sa == nullptr) return "";
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      in_addr a4;
      std::memcpy(&a4, &in6->sin6_addr.s6_addr[12], 4);
      inet_ntop(AF_INET, &a4, buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    }
    return buf;
  }
  return "";
}

Result<std::int64_t> parse_ticks(std::string_view text) {
  return parse_decimal(text, kMaxTicks, "time stamp");
}

Result<std::int64_t> parse_minutes(std::string_view text) {
  return parse_decimal(text, kMaxTicks / 60, "number of minutes");
}

bool relay_allowed(std::optional<std::int64_t> stamp, std::int64_t now, std::int64_t lifetime) {
  if (!stamp) return false;
  return !older_than(*stamp, now, lifetime);
}

Result<std::unique_ptr<RelayDb>> RelayDb::open(const std::string& path, Mode mode) {
  lmdb::EnvOptions opt;
  opt.read_only = mode == Mode::kRead;
  opt.map_size = 1u << 20;
  opt.max_map_size = 4ull << 30;
  opt.max_dbs = 2;
  opt.mode = kDataMode;
  if (opt.read_only && ::access(path.c_str(), F_OK) != 0) return Status::sys("relay database " + path);
  auto env = lmdb::Env::open(path, opt);
  if (!env) return env.status();
  std::unique_ptr<RelayDb> db(new RelayDb(std::move(*env)));
  if (!opt.read_only) {
    auto d = db->env_->dbi(kDbName, true);
    if (!d) return d.status();
    db->dbi_ = *d;
    db->have_dbi_ = true;
  } else {
    MB_TRY(db->find_dbi());
  }
  return db;
}

Status RelayDb::find_dbi() {
  if (have_dbi_) return Status::ok();
  // A file made by a bare LMDB open has no "relay" sub-database until the first writer
  // opens it; until then a reader sees an empty database.
  auto d = env_->dbi(kDbName, false);
  if (!d) return d.status().err() == MDB_NOTFOUND ? Status::ok() : d.status();
  dbi_ = *d;
  have_dbi_ = true;
  return Status::ok();
}

Status RelayDb::stamp(const std::string& address, std::int64_t ticks) {
  const std::string value = std::to_string(ticks);
  return env_->update([&](lmdb::WriteTxn& t) { return t.put(dbi_, address, value); });
}

Result<std::optional<std::int64_t>> RelayDb::lookup(const std::string& address) {
  MB_TRY(find_dbi());
  if (!have_dbi_) return std::optional<std::int64_t>();
  auto t = env_->read();
  if (!t) return t.status();
  auto v = t->get(dbi_, address);
  if (!v) return v.status();
  if (!*v) return std::optional<std::int64_t>();
  auto n = stored_ticks(address, **v);
  if (!n) return n.status();
  return std::optional<std::int64_t>(*n);
}

Result<std::size_t> RelayDb::erase(const std::vector<std::string>& addresses,
                                   std::vector<std::string>* absent) {
  std::size_t removed = 0;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    removed = 0;
    if (absent) absent->clear();
    for (const auto& a : addresses) {
      auto r = t.del(dbi_, a);
      if (!r) return r.status();
      if (*r)
        ++removed;
      else if (absent)
        absent->push_back(a);
    }
    return Status::ok();
  });
  if (!st) return st;
  return removed;
}

Result<std::size_t> RelayDb::expire(std::int64_t now, std::int64_t seconds) {
  std::size_t removed = 0;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    removed = 0;
    std::vector<std::string> old;
    Status bad;
    MB_TRY(t.scan(dbi_, "", [&](std::string_view k, std::string_view v) {
      auto n = stored_ticks(k, v);
      if (!n) {
        bad = n.status();
        return false;
      }
      if (older_than(*n, now, seconds)) old.emplace_back(k);
      return true;
    }));
    if (!bad) return bad;
    for (const auto& k : old) {
      auto r = t.del(dbi_, k);
      if (!r) return r.status();
      if (*r) ++removed;
    }
    return Status::ok();
  });
  if (!st) return st;
  return removed;
}

Result<std::vector<Entry>> RelayDb::scan() {
  MB_TRY(find_dbi());
  std::vector<Entry> out;
  if (!have_dbi_) return out;
  auto t = env_->read();
  if (!t) return t.status();
  Status bad;
  MB_TRY(t->scan(dbi_, "", [&](std::string_view k, std::string_view v) {
    auto n = stored_ticks(k, v);
    if (!n) {
      bad = n.status();
      return false;
    }
    out.push_back(Entry{std::string(k), *n});
    return true;
  }));
  if (!bad) return bad;
  return out;
}

Status RelayDb::load(const std::vector<Entry>& entries, bool replace) {
  return env_->update([&](lmdb::WriteTxn& t) -> Status {
    if (replace) MB_TRY(t.clear(dbi_));
    for (const auto& e : entries) MB_TRY(t.put(dbi_, e.address, std::to_string(e.ticks)));
    return Status::ok();
  });
}

Result<bool> allowed(RelayStore& db, const std::string& address, std::int64_t now, std::int64_t lifetime) {
  auto stamp = db.lookup(address);
  if (!stamp) return stamp.status();
  return relay_allowed(*stamp, now, lifetime);
}

Result<bool> RelayChecker::allowed(std::string_view address, std::int64_t now) {
  auto ip = normalize(address);
  if (!ip) return ip.status();
  if (!db_) {
    if (::access(path_.c_str(), F_OK) != 0 && errno == ENOENT) return false;  // nothing stored yet
    auto db = RelayDb::open(path_, RelayDb::Mode::kRead);
    if (!db) return db.status();
    db_ = std::move(*db);
  }
  return relaydb::allowed(*db_, *ip, now, lifetime_);
}

Status fix_ownership(const std::string& path) {
  if (::geteuid() == 0) return Status::ok();
  auto gid = privsep::group_id(kGroup);
  const std::string lock = path + "-lock";
  for (const auto& [p, mode] : {std::pair<std::string, mode_t>{path, kDataMode}, {lock, 0660}}) {
    io::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
    // Only a member of mb-relay may give it the file; elsewhere (tests) the group stays.
    if (gid && st.st_gid != *gid && ::fchown(fd.get(), static_cast<uid_t>(-1), *gid) != 0 && errno != EPERM)
      return Status::sys("chgrp " + p);
    if ((st.st_mode & 07777) != mode && ::fchmod(fd.get(), mode) != 0) return Status::sys("chmod " + p);
  }
  return Status::ok();
}

Status precreate(const std::string& path) {
  if (::geteuid() != 0) return Status::ok();
  auto uid = privsep::user_id(kOwner);
  if (!uid) return uid.status();
  auto gid = privsep::group_id(kGroup);
  if (!gid) return gid.status();
  for (const auto& [p, mode] : {std::pair<std::string, mode_t>{path, kDataMode}, {path + "-lock", 0660}}) {
    io::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == EEXIST) continue;
      return Status::sys("create " + p);
    }
    if (::fchown(fd.get(), *uid, *gid) != 0) return Status::sys("chown " + p);
    if (::fchmod(fd.get(), mode) != 0) return Status::sys("chmod " + p);
  }
  return Status::ok();
}

std::string format_entry(const Entry& e) { return e.address + "\t" + std::to_string(e.ticks) + "\n"; }

Result<std::vector<Entry>> parse_dump(std::string_view text, const std::string& name) {
  std::vector<Entry> out;
  std::map<std::string, std::size_t> seen;  // address -> line
  std::size_t lineno = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto where = [&] { return name + ":" + std::to_string(lineno) + ": "; };
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t sep = 0;
    while (sep < line.size() && !is_space(line[sep])) ++sep;
    std::string_view addr = line.substr(0, sep);
    std::string_view rest = line.substr(sep);
    while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
    if (rest.empty())
      return Status::error(where() + "missing time stamp after '" + log::printable(addr, 60) + "'");
    for (char c : rest)
      if (is_space(c)) return Status::error(where() + "extra text after the time stamp");
    auto a = normalize(addr);
    if (!a) return Status::error(where() + a.message());
    auto t = parse_ticks(rest);
    if (!t) return Status::error(where() + t.message());
    auto [it, fresh] = seen.emplace(*a, lineno);
    if (!fresh)
      return Status::error(where() + "duplicate address " + *a + " (also on line " +
                           std::to_string(it->second) + ")");
    out.push_back(Entry{*a, *t});
  }
  return out;
}

}  // namespace common::relaydb
