// The POP-before-SMTP relay database on PostgreSQL (the relay_clients table): a POP3 or
// IMAP login on one node lets its address relay through every node. Never cached, so a
// grant is honoured everywhere as soon as its INSERT commits (one indexed read per
// relay decision). Same rules and text forms as the LMDB one (relaydb.hpp).
#pragma once

#include "common/pg/conn.hpp"
#include "common/relaydb/relaydb.hpp"

namespace common::pg {

class PgRelay : public relaydb::RelayStore {
 public:
  explicit PgRelay(Settings s) : conn_(std::move(s)) {}
  Status stamp(const std::string& address, std::int64_t ticks) override;
  Result<std::optional<std::int64_t>> lookup(const std::string& address) override;
  Result<std::size_t> erase(const std::vector<std::string>& addresses,
                            std::vector<std::string>* absent = nullptr) override;
  Result<std::size_t> expire(std::int64_t now, std::int64_t seconds) override;
  Result<std::vector<relaydb::Entry>> scan() override;
  Status load(const std::vector<relaydb::Entry>& entries, bool replace) override;

 private:
  Conn conn_;
};

}  // namespace common::pg
