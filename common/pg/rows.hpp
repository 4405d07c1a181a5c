// Decoding of the accounts tables' rows (schema.cpp) from PostgreSQL's text cells into
// the records every program uses (common/accounts/records.hpp), and the text forms the
// writers send. Pure, so that the edges (NULLs, nonsense in a cell, a missing column)
// are tested without a server. A row the decoder refuses is a database error, never a
// record with a guessed value: the callers answer "temporarily unavailable" (4.3.0).
// UNTRUSTED: cells come from a database someone else may have edited by hand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts/records.hpp"
#include "common/pg/conn.hpp"
#include "common/result.hpp"

namespace common::pg {

// A bigint cell: optional '-', 1-19 decimal digits, in range.
Result<std::int64_t> parse_int(std::string_view text, const char* what);
// A boolean cell as PostgreSQL writes it: "t" or "f".
Result<bool> parse_bool(std::string_view text, const char* what);
// A text[] column sent as array_to_string(col, E'\n'): "" is the empty list.
std::vector<std::string> split_lines(std::string_view text);
std::string join_lines(const std::vector<std::string>& items);
inline std::string bool_text(bool b) { return b ? "t" : "f"; }

// The SELECT column lists the decoders expect, in order.
extern const char* const kDomainColumns;
extern const char* const kUserColumns;
extern const char* const kAliasColumns;
extern const char* const kRuleColumns;

Result<accounts::Domain> decode_domain(const Row& row);
Result<accounts::User> decode_user(const Row& row);
Result<accounts::Alias> decode_alias(const Row& row);
Result<accounts::FilterRule> decode_rule(const Row& row);

// The parameters of the matching INSERT ... ON CONFLICT statements (pg_accounts.cpp).
std::vector<std::string> domain_params(const accounts::Domain& d);
std::vector<std::string> user_params(const accounts::User& u);

}  // namespace common::pg
