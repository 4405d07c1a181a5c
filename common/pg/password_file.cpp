// Implementation of the database password file (see password_file.hpp).
#include "common/pg/password_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/privsep/drop.hpp"

namespace common::pg {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> parse_password_file(std::string_view text, std::string_view role) {
  std::string found;
  bool seen = false;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        trim(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::size_t sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos)
      return Status::error("line " + std::to_string(line_no) + ": want 'ROLE PASSWORD'");
    std::string_view name = line.substr(0, sp), password = trim(line.substr(sp));
    if (password.empty()) return Status::error("line " + std::to_string(line_no) + ": no password");
    if (name != role) continue;
    if (seen) return Status::error("line " + std::to_string(line_no) + ": role named twice");
    seen = true;
    found = std::string(password);
  }
  return found;
}

Result<std::string> read_password_file(const std::string& path, std::string_view role) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Status::sys("postgresql_password_file " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return Status::sys("fstat " + path);
  if (!S_ISREG(st.st_mode))
    return Status::error("postgresql_password_file " + path + " is not a regular file");
  // As private as a key: root's, and nobody else's to read.
  if (privsep::running_as_root() && (st.st_uid != 0 || (st.st_mode & 077) != 0))
    return Status::error("postgresql_password_file " + path +
                         " must belong to root and have mode 0600 or 0400");
  auto text = io::read_file(path, 64 * 1024);
  if (!text) return text.status();
  auto p = parse_password_file(*text, role);
  if (!p) return Status::error("postgresql_password_file " + path + ": " + p.message());
  return p;
}

}  // namespace common::pg
