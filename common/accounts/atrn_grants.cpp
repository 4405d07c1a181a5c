// The ODMR grants of the accounts database (see accounts.hpp, records.hpp AtrnGrant):
// which account may pull which domain's queued mail with ATRN (RFC 2645 5.2.1), written
// by mailctl atrn and read by smtpd when an ODMR client sends ATRN. One LMDB database
// "atrn_grants", keyed "login domain".
#include <lmdb.h>

#include "common/accounts/accounts.hpp"
#include "common/check.hpp"
#include "common/ipc/codec.hpp"

namespace common::accounts {
namespace {

constexpr const char* kAtrnDb = "atrn_grants";

std::string grant_key(const std::string& login, const std::string& domain) { return login + " " + domain; }

}  // namespace

Result<std::optional<MDB_dbi>> Accounts::atrn_dbi() {
  auto d = env_->dbi(kAtrnDb, writable_);
  if (d) return std::optional<MDB_dbi>(*d);
  if (!writable_ && d.status().err() == MDB_NOTFOUND) return std::optional<MDB_dbi>();
  return d.status();
}

Result<std::vector<AtrnGrant>> Accounts::atrn_grants(const std::string& login) {
  auto dbi = atrn_dbi();
  if (!dbi) return dbi.status();
  std::vector<AtrnGrant> out;
  if (!*dbi) return out;
  auto t = env_->read();
  if (!t) return t.status();
  Status bad;
  std::string prefix = login.empty() ? std::string() : login + " ";
  Status st = t->scan(**dbi, prefix, [&](std::string_view k, std::string_view v) {
    if (!prefix.empty() && k.substr(0, prefix.size()) != prefix) return false;
    AtrnGrant g;
    ipc::Decoder d(v);
    d(g);
    if (!d.ok() || !d.at_end() || grant_key(g.login, g.domain) != k) {
      bad = Status::error("corrupt ODMR grant '" + std::string(k) + "' in accounts database");
      return false;
    }
    out.push_back(std::move(g));
    return true;
  });
  if (!st) return st;
  if (!bad) return bad;
  return out;
}

Status Accounts::put_atrn_grant(const AtrnGrant& g) {
  auto dbi = atrn_dbi();
  if (!dbi) return dbi.status();
  MB_CHECK(dbi->has_value(), "ODMR grant database missing in a writable open");
  if (g.login.size() + g.domain.size() > 500) return Status::error("grant too long to store");
  ipc::Encoder e;
  e(g);
  return env_->update(
      [&](lmdb::WriteTxn& t) -> Status { return t.put(**dbi, grant_key(g.login, g.domain), e.out); });
}

Result<bool> Accounts::delete_atrn_grant(const AtrnGrant& g) {
  auto dbi = atrn_dbi();
  if (!dbi) return dbi.status();
  if (!*dbi) return false;
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto r = t.del(**dbi, grant_key(g.login, g.domain));
    if (!r) return r.status();
    existed = *r;
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

}  // namespace common::accounts
