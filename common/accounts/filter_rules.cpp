// The filtering rules of the accounts database (see accounts.hpp, records.hpp
// FilterRule): written by mailctl rule, read by smtpd at MAIL and DATA, so that a change
// takes effect with the next transaction, without a restart. One LMDB database
// "filter_rules", keyed by filter_rule_key().
#include <lmdb.h>

#include "common/accounts/accounts.hpp"
#include "common/check.hpp"
#include "common/ipc/codec.hpp"

namespace common::accounts {
namespace {

constexpr const char* kRulesDb = "filter_rules";

}  // namespace

std::string filter_rule_key(const FilterRule& r) {
  // An attachment size limit is one setting: a new one replaces the old.
  if (r.kind == "attachment-size") return r.kind;
  return r.kind + " " + r.scope + " " + r.pattern;
}

Result<std::optional<MDB_dbi>> Accounts::rules_dbi() {
  auto d = env_->dbi(kRulesDb, writable_);
  if (d) return std::optional<MDB_dbi>(*d);
  if (!writable_ && d.status().err() == MDB_NOTFOUND) return std::optional<MDB_dbi>();
  return d.status();
}

Result<std::vector<FilterRule>> Accounts::filter_rules() {
  auto dbi = rules_dbi();
  if (!dbi) return dbi.status();
  std::vector<FilterRule> out;
  if (!*dbi) return out;
  auto t = env_->read();
  if (!t) return t.status();
  Status bad;
  Status st = t->scan(**dbi, "", [&](std::string_view k, std::string_view v) {
    FilterRule r;
    ipc::Decoder d(v);
    d(r);
    if (!d.ok() || !d.at_end()) {
      bad = Status::error("corrupt filter rule '" + std::string(k) + "' in accounts database");
      return false;
    }
    out.push_back(std::move(r));
    return true;
  });
  if (!st) return st;
  if (!bad) return bad;
  return out;
}

Result<bool> Accounts::put_filter_rule(const FilterRule& r) {
  auto dbi = rules_dbi();
  if (!dbi) return dbi.status();
  MB_CHECK(dbi->has_value(), "filter rule database missing in a writable open");
  std::string key = filter_rule_key(r);
  if (key.size() > kMaxFilterRuleKey) return Status::error("rule too long to store");
  ipc::Encoder e;
  e(r);
  bool replaced = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto old = t.get(**dbi, key);
    if (!old) return old.status();
    replaced = old->has_value();
    return t.put(**dbi, key, e.out);
  });
  if (!st) return st;
  return replaced;
}

Result<bool> Accounts::delete_filter_rule(const FilterRule& r) {
  auto dbi = rules_dbi();
  if (!dbi) return dbi.status();
  if (!*dbi) return false;
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto d = t.del(**dbi, filter_rule_key(r));
    if (!d) return d.status();
    existed = *d;
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

}  // namespace common::accounts
