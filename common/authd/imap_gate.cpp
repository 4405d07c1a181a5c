// The IMAP side of the authentication daemon (see imap_gate.hpp).
#include "common/authd/imap_gate.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "common/log/log.hpp"

namespace authd {

namespace log = common::log;

bool ImapGate::start(const std::string& client, double now) {
  return limits_.auth_started(client, now, false) == common::io::ClientLimits::Verdict::kOk;
}

double ImapGate::finish(const std::string& client, double now, bool failed) {
  auto f = limits_.auth_finished(client, now, false, !failed);
  if (!failed) return 0;
  if (f.blocked) log::warn("imap: too many failed logins from %s: address blocked", client.c_str());
  // As pop3d: never less than a second for a failure, so guessing stays slow even
  // before the back-off starts.
  return std::max(f.delay, 1.0);
}

void ImapGate::granted(const std::string& client, std::int64_t unix_now) {
  if (!s_.pop_before_smtp) return;
  auto addr = common::relaydb::normalize(client);
  if (!addr) return;  // no client address (a local test of the passdb): nothing to grant
  if (!s_.db) return stamp(*addr, unix_now);
  if (!s_.db->submit([this, a = *addr, unix_now] { stamp(a, unix_now); }, [] {}))
    log::error("relay database: cannot record %s: too many writes waiting", addr->c_str());
}

// On the database thread when there is one: relay_ is used there only.
void ImapGate::stamp(const std::string& address, std::int64_t unix_now) {
  if (!relay_ && s_.open_relay) {
    auto db = s_.open_relay();
    if (!db) {
      log::error("relay database: %s", db.message().c_str());
      return;
    }
    relay_ = std::move(*db);
  }
  if (!relay_) {
    // mailctl init made the file for its owner; never create it here, as another user.
    struct stat st;
    if (::stat(s_.relay_db.c_str(), &st) != 0) {
      log::error("relay database %s is missing (run mailctl init)", s_.relay_db.c_str());
      return;
    }
    auto db = common::relaydb::RelayDb::open(s_.relay_db, common::relaydb::RelayDb::Mode::kWrite);
    if (!db) {
      log::error("relay database: %s", db.message().c_str());
      return;
    }
    relay_ = std::move(*db);
  }
  if (auto st = relay_->stamp(address, unix_now); !st) {
    log::error("relay database: cannot record %s: %s", address.c_str(), st.message().c_str());
    if (!s_.open_relay) relay_.reset();  // reopened at the next login (PostgreSQL re-connects itself)
  }
}

}  // namespace authd
