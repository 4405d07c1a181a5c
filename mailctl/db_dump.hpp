// The text of `mailctl db export` and `db import`: every record of the accounts store,
// the password hashes, the relay recipient lists, the filtering rules, the ODMR grants and the relay
// database, so that an installation moves between LMDB and PostgreSQL without losing
// anything. One record per line, "KIND VALUE...": the account records as base64 of their
// IPC encoding (common/ipc/codec.hpp, the bytes LMDB stores, so every field travels,
// future ones included), the others as plain words.
//   # mailbag accounts dump 1
//   domain BASE64 | user BASE64 | alias BASE64 | rule BASE64
//   password ADDRESS HASH | relay-recipient KEY | relay-client ADDRESS TICKS
//   atrn-grant LOGIN DOMAIN
// UNTRUSTED: import reads a file.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/accounts/records.hpp"
#include "common/accounts/store.hpp"
#include "common/relaydb/relaydb.hpp"
#include "common/result.hpp"

namespace mailctl {

struct Dump {
  std::vector<common::accounts::Domain> domains;
  std::vector<common::accounts::User> users;
  std::vector<common::accounts::Alias> aliases;
  std::vector<std::pair<std::string, std::string>> passwords;  // address, hash
  std::vector<std::string> relay_recipients;                   // keys, "@domain" markers too
  std::vector<common::accounts::FilterRule> rules;
  std::vector<common::relaydb::Entry> relay_clients;
  std::vector<common::accounts::AtrnGrant> atrn_grants;
};

std::string format_dump(const Dump& d);
// Errors name the line ("line 3: ...").
common::Result<Dump> parse_dump(std::string_view text);

// Everything the stores hold (`relay` may be null: no relay database).
common::Result<Dump> read_stores(common::accounts::Store& db, common::accounts::PasswordStore& pw,
                                 common::relaydb::RelayStore* relay);
// Adds (or replaces) every record of `d`; records not in it are left alone.
common::Status write_stores(const Dump& d, common::accounts::Store& db, common::accounts::PasswordStore& pw,
                            common::relaydb::RelayStore* relay);

}  // namespace mailctl
