// The PostgreSQL schema of the shared accounts and relay database, versioned: the
// schema_version table holds the version the tables are at, kMigrations[i] takes a
// database from version i to i+1 (init runs them all on an empty database, migrate the
// missing ones), and every program refuses a database of another version (conn.cpp)
// rather than guess at its columns. The roles and their grants are part of each step;
// mailbag.7 documents them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/pg/conn.hpp"
#include "common/result.hpp"

namespace common::pg {

inline constexpr std::int64_t kSchemaVersion = 2;

// The steps, in order; step i brings version i to i + 1.
const std::vector<std::string>& migrations();

// The version the database is at: 0 when it has no schema_version table yet.
Result<std::int64_t> schema_version(Conn& c);
// mailctl db init: creates the schema on a database without one (refuses otherwise).
Status init_schema(Conn& c);
// mailctl db migrate: runs the missing steps, each in its own transaction; `*from`
// receives the version found. Refuses a database newer than this program.
Status migrate_schema(Conn& c, std::int64_t* from);

// The notification channel the account tables' triggers signal (LISTEN in pg_accounts).
inline constexpr const char* kChannel = "mailbag_accounts";

}  // namespace common::pg
