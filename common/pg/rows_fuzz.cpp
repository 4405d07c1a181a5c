// libFuzzer target for the decoding of database rows (rows.hpp) and the password file
// (password_file.hpp): the input is split at NUL bytes into cells (a cell that is
// exactly "\x01" stands for SQL NULL), and every decoder must refuse or accept the row
// without crashing; what decodes keeps its cells' text.
#include <cstdint>
#include <string_view>

#include "common/check.hpp"
#include "common/pg/password_file.hpp"
#include "common/pg/rows.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)common::pg::parse_password_file(in, "mailbag_auth");
  common::pg::Row row;
  std::size_t pos = 0;
  while (pos <= in.size() && row.size() < 32) {
    std::size_t nul = in.find('\0', pos);
    std::string_view cell =
        in.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos);
    if (cell == "\x01")
      row.emplace_back(std::nullopt);
    else
      row.emplace_back(std::string(cell));
    if (nul == std::string_view::npos) break;
    pos = nul + 1;
  }
  if (auto d = common::pg::decode_domain(row)) MB_CHECK(row[0] && d->name == *row[0], "domain name kept");
  if (auto u = common::pg::decode_user(row)) MB_CHECK(row[1] && u->maildir == *row[1], "maildir kept");
  if (auto a = common::pg::decode_alias(row))
    MB_CHECK(common::pg::join_lines(a->targets) == *row[1], "targets round-trip");
  (void)common::pg::decode_rule(row);
  if (!row.empty() && row[0]) {
    auto n = common::pg::parse_int(*row[0], "n");
    if (n) MB_CHECK(std::to_string(*n) == *row[0] || (*row[0])[0] == '-' || (*row[0])[0] == '0', "int text");
  }
  return 0;
}
