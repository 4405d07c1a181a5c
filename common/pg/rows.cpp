// Implementation of the row decoding (see rows.hpp).
#include "common/pg/rows.hpp"

#include "common/log/log.hpp"

namespace common::pg {

using accounts::Alias;
using accounts::Domain;
using accounts::FilterRule;
using accounts::User;

const char* const kDomainColumns =
    "name, alias_of, catchall, default_quota, max_message_size, max_recipients, created";
const char* const kUserColumns =
    "address, maildir, quota, disabled, array_to_string(forward, E'\\n'), keep_copy, autoreply_enabled, "
    "autoreply_subject, autoreply_text, autoreply_start, autoreply_end, autoreply_interval_days, created, "
    "junk_folder";
const char* const kAliasColumns = "address, array_to_string(targets, E'\\n')";
const char* const kRuleColumns = "kind, pattern, action, scope";

Result<std::int64_t> parse_int(std::string_view text, const char* what) {
  std::string_view digits = text;
  bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 19)
    return Status::error(std::string("bad ") + what + " '" + log::printable(text, 40) + "'");
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return Status::error(std::string("bad ") + what + " '" + log::printable(text, 40) + "'");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');  // 19 digits fit in uint64
  }
  if (n > static_cast<std::uint64_t>(INT64_MAX))
    return Status::error(std::string(what) + " out of range: '" + log::printable(text, 40) + "'");
  auto v = static_cast<std::int64_t>(n);
  return negative ? -v : v;
}

Result<bool> parse_bool(std::string_view text, const char* what) {
  if (text == "t") return true;
  if (text == "f") return false;
  return Status::error(std::string("bad ") + what + " '" + log::printable(text, 40) + "'");
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t pos = 0;
  while (true) {
    std::size_t nl = text.find('\n', pos);
    out.emplace_back(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

namespace {

// Reads the cells of one row in order, keeping the first error.
class Cells {
 public:
  Cells(const Row& row, std::size_t want, const char* table) : row_(row), table_(table) {
    if (row.size() != want)
      fail("row has " + std::to_string(row.size()) + " columns, expected " + std::to_string(want));
  }
  const std::string* next(const char* what) {
    if (!st_) return nullptr;
    if (i_ >= row_.size()) return nullptr;
    const auto& cell = row_[i_++];
    if (!cell) {
      fail(std::string(what) + " is NULL");
      return nullptr;
    }
    return &*cell;
  }
  void text(std::string& out, const char* what) {
    if (const auto* c = next(what)) out = *c;
  }
  void number(std::int64_t& out, const char* what) {
    const auto* c = next(what);
    if (!c) return;
    auto v = parse_int(*c, what);
    if (!v) return fail(v.message());
    out = *v;
  }
  void flag(bool& out, const char* what) {
    const auto* c = next(what);
    if (!c) return;
    auto v = parse_bool(*c, what);
    if (!v) return fail(v.message());
    out = *v;
  }
  void list(std::vector<std::string>& out, const char* what) {
    if (const auto* c = next(what)) out = split_lines(*c);
  }
  Status status() const {
    if (st_) return st_;
    return Status::error(std::string("PostgreSQL: bad row in ") + table_ + ": " + st_.message());
  }

 private:
  void fail(std::string why) {
    if (st_) st_ = Status::error(std::move(why));
  }
  const Row& row_;
  const char* table_;
  std::size_t i_ = 0;
  Status st_;
};

}  // namespace

Result<Domain> decode_domain(const Row& row) {
  Domain d;
  Cells c(row, 7, "domains");
  c.text(d.name, "name");
  c.text(d.alias_of, "alias_of");
  c.text(d.catchall, "catchall");
  c.number(d.default_quota, "default_quota");
  c.number(d.max_message_size, "max_message_size");
  c.number(d.max_recipients, "max_recipients");
  c.number(d.created, "created");
  MB_TRY(c.status());
  return d;
}

Result<User> decode_user(const Row& row) {
  User u;
  Cells c(row, 14, "users");
  c.text(u.address, "address");
  c.text(u.maildir, "maildir");
  c.number(u.quota, "quota");
  c.flag(u.disabled, "disabled");
  c.list(u.forward, "forward");
  c.flag(u.keep_copy, "keep_copy");
  c.flag(u.autoreply.enabled, "autoreply_enabled");
  c.text(u.autoreply.subject, "autoreply_subject");
  c.text(u.autoreply.text, "autoreply_text");
  c.number(u.autoreply.start, "autoreply_start");
  c.number(u.autoreply.end, "autoreply_end");
  c.number(u.autoreply.interval_days, "autoreply_interval_days");
  c.number(u.created, "created");
  c.flag(u.junk_folder, "junk_folder");
  MB_TRY(c.status());
  return u;
}

Result<Alias> decode_alias(const Row& row) {
  Alias a;
  Cells c(row, 2, "aliases");
  c.text(a.address, "address");
  c.list(a.targets, "targets");
  MB_TRY(c.status());
  return a;
}

Result<FilterRule> decode_rule(const Row& row) {
  FilterRule r;
  Cells c(row, 4, "filter_rules");
  c.text(r.kind, "kind");
  c.text(r.pattern, "pattern");
  c.text(r.action, "action");
  c.text(r.scope, "scope");
  MB_TRY(c.status());
  return r;
}

std::vector<std::string> domain_params(const Domain& d) {
  return {d.name,
          d.alias_of,
          d.catchall,
          std::to_string(d.default_quota),
          std::to_string(d.max_message_size),
          std::to_string(d.max_recipients),
          std::to_string(d.created)};
}

std::vector<std::string> user_params(const User& u) {
  return {u.address,
          u.maildir,
          std::to_string(u.quota),
          bool_text(u.disabled),
          join_lines(u.forward),
          bool_text(u.keep_copy),
          bool_text(u.autoreply.enabled),
          u.autoreply.subject,
          u.autoreply.text,
          std::to_string(u.autoreply.start),
          std::to_string(u.autoreply.end),
          std::to_string(u.autoreply.interval_days),
          std::to_string(u.created),
          bool_text(u.junk_folder)};
}

}  // namespace common::pg
