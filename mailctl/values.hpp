// The values an administrator types after `mailctl ... set` and `user autoreply`:
// KEY=VALUE settings, sizes ("15M", "none"), yes/no, address lists, dates. Pure
// parsing with messages that say what was expected (unit-tested in values_test.cpp), so
// that every command can check all of its input before it changes anything.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace mailctl {

// "key=value" pairs; a key may appear once; keys are checked against `allowed`.
common::Result<std::vector<std::pair<std::string, std::string>>> parse_settings(
    const std::vector<std::string>& args, const std::vector<std::string>& allowed);

// A size in bytes: digits with an optional K, M or G (1024-based) suffix; "none",
// "unlimited" or "0" mean no limit (0).
common::Result<std::int64_t> parse_limit_size(const std::string& v);
// A count: digits; "none" or "0" mean no limit (0).
common::Result<std::int64_t> parse_limit_count(const std::string& v, std::int64_t max);
common::Result<bool> parse_yes_no(const std::string& v);

// Comma-separated mail addresses (blanks allowed around them), each a valid RFC 5321
// mailbox with a domain, returned in canonical form; "" or "none" is the empty list.
common::Result<std::vector<std::string>> parse_address_list(const std::string& v);

// A date in the local time zone: "YYYY-MM-DD" (the start of that day, or with
// `end_of_day` its last second) or "YYYY-MM-DD HH:MM" (also with 'T'); "none" or "" is
// 0 (no date).
common::Result<std::int64_t> parse_date(const std::string& v, bool end_of_day);
// "2026-07-01 00:00" in local time; "-" for 0.
std::string format_date(std::int64_t t);
// "15.0 MiB (15728640 bytes)"; "none" for 0.
std::string format_size(std::int64_t bytes);
// The items with `sep` between them ("a, b"); "" for none. A separator goes only after
// some text, so leading empty items add nothing.
std::string join_list(const std::vector<std::string>& items, const std::string& sep);

}  // namespace mailctl
