// Implementation of the accounts database (see accounts.hpp). Records are encoded with
// the IPC codec, so each record type lists its fields once.
#include "common/accounts/accounts.hpp"

#include "common/ipc/codec.hpp"
#include "common/mail/address.hpp"

namespace common::accounts {
namespace {

template <class T>
std::string encode(const T& v) {
  ipc::Encoder e;
  e(v);
  return std::move(e.out);
}

template <class T>
Result<T> decode(std::string_view bytes, const std::string& key) {
  T v{};
  ipc::Decoder d(bytes);
  d(v);
  if (!d.ok() || !d.at_end()) {
    // A user record written before junk_folder existed ends just before it: read it
    // with the field's default (true, encoded as one byte 1).
    if constexpr (std::is_same_v<T, User>) {
      std::string longer(bytes);
      longer.push_back('\x01');
      ipc::Decoder d2(longer);
      v = T{};
      d2(v);
      if (d2.ok() && d2.at_end()) return v;
    }
    return Status::error("corrupt record for '" + key + "' in accounts database");
  }
  return v;
}

template <class T>
Result<std::optional<T>> get(lmdb::Env& env, MDB_dbi dbi, const std::string& key) {
  auto t = env.read();
  if (!t) return t.status();
  auto v = t->get(dbi, key);
  if (!v) return v.status();
  if (!*v) return std::optional<T>();
  auto r = decode<T>(**v, key);
  if (!r) return r.status();
  return std::optional<T>(std::move(*r));
}

// Entries of `dbi` whose key ends with "@domain" (all if domain is empty).
template <class T>
Result<std::vector<T>> list(lmdb::Env& env, MDB_dbi dbi, const std::string& domain) {
  auto t = env.read();
  if (!t) return t.status();
  std::vector<T> out;
  Status bad;
  Status st = t->scan(dbi, "", [&](std::string_view k, std::string_view v) {
    if (!domain.empty()) {
      auto at = k.rfind('@');
      if (at == std::string_view::npos || k.substr(at + 1) != domain) return true;
    }
    auto r = decode<T>(v, std::string(k));
    if (!r) {
      bad = r.status();
      return false;
    }
    out.push_back(std::move(*r));
    return true;
  });
  if (!st) return st;
  if (!bad) return bad;
  return out;
}

bool is_lower_ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

bool valid_domain_name(const std::string& d) {
  if (!mail::is_domain(d, false)) return false;
  for (char c : d)
    if (!is_lower_ldh(c) && c != '.') return false;
  return d.find('.') != std::string::npos || d == "localhost";
}

bool valid_user_local(const std::string& l) {
  if (l.empty() || l.size() > mail::kMaxLocalPart) return false;
  if (l.front() == '.' || l.front() == '-' || l.back() == '.') return false;
  if (l.find("..") != std::string::npos) return false;
  for (char c : l)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

Result<std::pair<std::string, std::string>> split_user_address(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return Status::error("'" + address + "' is not an address (want user@domain)");
  std::string local = address.substr(0, at), domain = address.substr(at + 1);
  if (!valid_user_local(local))
    return Status::error("invalid user name '" + local +
                         "': use lower-case letters, digits, '.', '_' and '-' (at most 64)");
  if (!valid_domain_name(domain)) return Status::error("invalid domain name '" + domain + "'");
  return std::make_pair(local, domain);
}

bool valid_relative_maildir(std::string_view rel) {
  if (rel.empty() || rel.size() > 1024 || rel.front() == '/' || rel.back() == '/') return false;
  for (char c : rel)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  std::size_t pos = 0;
  while (pos <= rel.size()) {
    std::size_t slash = rel.find('/', pos);
    std::string_view part =
        rel.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return true;
}

Result<std::unique_ptr<Accounts>> Accounts::open(const std::string& path, bool writable) {
  lmdb::EnvOptions opt;
  opt.read_only = !writable;
  opt.map_size = 16u << 20;
  opt.mode = 0640;
  auto env = lmdb::Env::open(path, opt);
  if (!env) return env.status();
  std::unique_ptr<Accounts> a(new Accounts(std::move(*env)));
  a->writable_ = writable;
  for (auto [name, slot] : {std::pair{"domains", &a->domains_}, std::pair{"users", &a->users_},
                            std::pair{"aliases", &a->aliases_}}) {
    auto d = a->env_->dbi(name, writable);
    if (!d) return d.status();
    *slot = *d;
  }
  return a;
}

Result<std::optional<Domain>> Accounts::domain(const std::string& name) {
  return get<Domain>(*env_, domains_, name);
}
Result<std::optional<User>> Accounts::user(const std::string& address) {
  return get<User>(*env_, users_, address);
}
Result<std::optional<Alias>> Accounts::alias(const std::string& address) {
  return get<Alias>(*env_, aliases_, address);
}

Result<std::vector<Domain>> Accounts::domains() { return list<Domain>(*env_, domains_, ""); }
Result<std::vector<User>> Accounts::users(const std::string& domain) {
  return list<User>(*env_, users_, domain);
}
Result<std::vector<Alias>> Accounts::aliases(const std::string& domain) {
  return list<Alias>(*env_, aliases_, domain);
}

Status Accounts::put_domain(const Domain& d) {
  std::string v = encode(d);
  return env_->update([&](lmdb::WriteTxn& t) { return t.put(domains_, d.name, v); });
}

Status Accounts::put_user(const User& u) {
  std::string v = encode(u);
  return env_->update([&](lmdb::WriteTxn& t) { return t.put(users_, u.address, v); });
}

Status Accounts::put_alias(const Alias& a) {
  std::string v = encode(a);
  return env_->update([&](lmdb::WriteTxn& t) { return t.put(aliases_, a.address, v); });
}

Result<bool> Accounts::delete_domain(const std::string& name) {
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto r = t.del(domains_, name);
    if (!r) return r.status();
    existed = *r;
    for (MDB_dbi dbi : {users_, aliases_}) {
      std::vector<std::string> doomed;
      MB_TRY(t.scan(dbi, "", [&](std::string_view k, std::string_view) {
        auto at = k.rfind('@');
        if (at != std::string_view::npos && k.substr(at + 1) == name) doomed.emplace_back(k);
        return true;
      }));
      for (const auto& k : doomed) {
        auto d = t.del(dbi, k);
        if (!d) return d.status();
      }
    }
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

Result<bool> Accounts::delete_user(const std::string& address) {
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto r = t.del(users_, address);
    if (!r) return r.status();
    existed = *r;
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

Result<bool> Accounts::delete_alias(const std::string& address) {
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto r = t.del(aliases_, address);
    if (!r) return r.status();
    existed = *r;
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

}  // namespace common::accounts
