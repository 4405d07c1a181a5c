// The relay recipient lists of the accounts database (see accounts.hpp): for a domain we
// are backup MX of (relay_domains), the addresses its primary accepts, so that smtpd can
// refuse the others at RCPT instead of accepting them and bouncing later to a sender
// that is often forged (backscatter). Keys "local@domain"; "@domain" marks a list.
#include <lmdb.h>

#include "common/accounts/accounts.hpp"
#include "common/check.hpp"
#include "common/ipc/codec.hpp"

namespace common::accounts {
namespace {

constexpr const char* kRelayDb = "relay_recipients";

bool in_domain(std::string_view key, const std::string& domain) {
  auto at = key.rfind('@');
  return at != std::string_view::npos && key.substr(at + 1) == domain;
}

std::string record(const std::string& key) {
  RelayRecipient r;
  r.address = key;
  ipc::Encoder e;
  e(r);
  return std::move(e.out);
}

}  // namespace

Result<std::optional<MDB_dbi>> Accounts::relay_dbi() {
  auto d = env_->dbi(kRelayDb, writable_);
  if (d) return std::optional<MDB_dbi>(*d);
  if (!writable_ && d.status().err() == MDB_NOTFOUND) return std::optional<MDB_dbi>();
  return d.status();
}

Result<bool> Accounts::relay_list(const std::string& domain) { return relay_recipient("@" + domain); }

Result<bool> Accounts::relay_recipient(const std::string& key) {
  auto dbi = relay_dbi();
  if (!dbi) return dbi.status();
  if (!*dbi) return false;
  auto t = env_->read();
  if (!t) return t.status();
  auto v = t->get(**dbi, key);
  if (!v) return v.status();
  return v->has_value();
}

Result<std::vector<std::string>> Accounts::relay_recipients(const std::string& domain) {
  auto dbi = relay_dbi();
  if (!dbi) return dbi.status();
  std::vector<std::string> out;
  if (!*dbi) return out;
  auto t = env_->read();
  if (!t) return t.status();
  Status st = t->scan(**dbi, "", [&](std::string_view k, std::string_view) {
    if (domain.empty() || in_domain(k, domain)) out.emplace_back(k);
    return true;
  });
  if (!st) return st;
  return out;
}

Status Accounts::put_relay_recipients(const std::string& domain, const std::vector<std::string>& addresses,
                                      bool replace) {
  auto dbi = relay_dbi();
  if (!dbi) return dbi.status();
  MB_CHECK(dbi->has_value(), "relay recipient database missing in a writable open");
  MDB_dbi d = **dbi;
  return env_->update([&](lmdb::WriteTxn& t) -> Status {
    if (replace) {
      std::vector<std::string> doomed;
      MB_TRY(t.scan(d, "", [&](std::string_view k, std::string_view) {
        if (in_domain(k, domain)) doomed.emplace_back(k);
        return true;
      }));
      for (const auto& k : doomed) {
        auto r = t.del(d, k);
        if (!r) return r.status();
      }
    }
    MB_TRY(t.put(d, "@" + domain, record("@" + domain)));
    for (const auto& a : addresses) {
      MB_CHECK(in_domain(a, domain), "relay recipient outside its domain");
      MB_TRY(t.put(d, a, record(a)));
    }
    return Status::ok();
  });
}

Result<bool> Accounts::delete_relay_recipient(const std::string& key) {
  auto dbi = relay_dbi();
  if (!dbi) return dbi.status();
  if (!*dbi) return false;
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto r = t.del(**dbi, key);
    if (!r) return r.status();
    existed = *r;
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

Result<bool> Accounts::delete_relay_list(const std::string& domain) {
  auto dbi = relay_dbi();
  if (!dbi) return dbi.status();
  if (!*dbi) return false;
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    std::vector<std::string> doomed;
    MB_TRY(t.scan(**dbi, "", [&](std::string_view k, std::string_view) {
      if (in_domain(k, domain)) doomed.emplace_back(k);
      return true;
    }));
    for (const auto& k : doomed) {
      auto r = t.del(**dbi, k);
      if (!r) return r.status();
      existed = true;
    }
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

}  // namespace common::accounts
