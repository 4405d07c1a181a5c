// Implementation of the PostgreSQL relay database (see pg_relay.hpp).
#include "common/pg/pg_relay.hpp"

#include "common/pg/rows.hpp"

namespace common::pg {

using relaydb::Entry;

Status PgRelay::stamp(const std::string& address, std::int64_t ticks) {
  return conn_.exec(
      "INSERT INTO relay_clients (address, ticks) VALUES ($1, $2) ON CONFLICT (address) DO UPDATE SET ticks "
      "= "
      "EXCLUDED.ticks",
      {address, std::to_string(ticks)});
}

Result<std::optional<std::int64_t>> PgRelay::lookup(const std::string& address) {
  auto rows = conn_.query("SELECT ticks FROM relay_clients WHERE address = $1", {address});
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<std::int64_t>();
  if (rows->size() != 1 || rows->front().size() != 1 || !rows->front()[0])
    return Status::error("PostgreSQL: bad row in relay_clients for '" + address + "'");
  auto t = parse_int(*rows->front()[0], "time stamp");
  if (!t) return Status::error("PostgreSQL: relay_clients: " + t.message());
  return std::optional<std::int64_t>(*t);
}

Result<std::size_t> PgRelay::erase(const std::vector<std::string>& addresses,
                                   std::vector<std::string>* absent) {
  std::vector<Conn::Statement> st;
  for (const auto& a : addresses)
    st.push_back({"DELETE FROM relay_clients WHERE address = $1 RETURNING 1", {a}});
  auto r = conn_.transaction(st);
  if (!r) return r.status();
  std::size_t n = 0;
  for (std::size_t i = 0; i < r->size(); ++i) {
    if (!(*r)[i].empty())
      ++n;
    else if (absent)
      absent->push_back(addresses[i]);
  }
  return n;
}

Result<std::size_t> PgRelay::expire(std::int64_t now, std::int64_t seconds) {
  auto rows =
      conn_.query("DELETE FROM relay_clients WHERE ticks <= $1 RETURNING 1", {std::to_string(now - seconds)});
  if (!rows) return rows.status();
  return rows->size();
}

Result<std::vector<Entry>> PgRelay::scan() {
  auto rows = conn_.query("SELECT address, ticks FROM relay_clients ORDER BY address");
  if (!rows) return rows.status();
  std::vector<Entry> out;
  for (const auto& row : *rows) {
    if (row.size() != 2 || !row[0] || !row[1]) return Status::error("PostgreSQL: bad row in relay_clients");
    auto t = parse_int(*row[1], "time stamp");
    if (!t) return Status::error("PostgreSQL: relay_clients: " + t.message());
    out.push_back(Entry{*row[0], *t});
  }
  return out;
}

Status PgRelay::load(const std::vector<Entry>& entries, bool replace) {
  std::vector<Conn::Statement> st;
  if (replace) st.push_back({"DELETE FROM relay_clients", {}});
  for (const auto& e : entries)
    st.push_back(
        {"INSERT INTO relay_clients (address, ticks) VALUES ($1, $2) ON CONFLICT (address) DO UPDATE "
         "SET ticks = EXCLUDED.ticks",
         {e.address, std::to_string(e.ticks)}});
  auto r = conn_.transaction(st);
  return r ? Status::ok() : r.status();
}

}  // namespace common::pg
