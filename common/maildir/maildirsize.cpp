// Maildir++ quota file (see maildirsize.hpp). Used by local (check and append), pop3d
// (removals), smtpd never (it sees only local's over-quota flags) and mailctl (read only).
#include "common/maildir/maildirsize.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/maildir/mailbox_file.hpp"

namespace common::maildir {
namespace {

using io::UniqueFd;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal with an optional '-', the whole of `s`; no overflow.
bool parse_int(std::string_view s, std::int64_t* out) {
  bool neg = false;
  if (!s.empty() && s.front() == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 19) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v)) return false;
  }
  *out = neg ? -v : v;
  return true;
}

bool parse_def(std::string_view line, QuotaDef* def) {
  *def = QuotaDef{};
  if (line.empty()) return true;  // no limits
  while (!line.empty()) {
    std::size_t comma = line.find(',');
    std::string_view tok = line.substr(0, comma);
    line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
    if (tok.size() < 2) return false;
    char unit = tok.back();
    std::int64_t v = 0;
    if (!parse_int(tok.substr(0, tok.size() - 1), &v) || v < 0) return false;
    if (unit == 'S')
      def->bytes = static_cast<std::uint64_t>(v);
    else if (unit == 'C')
      def->count = static_cast<std::uint64_t>(v);
    else
      return false;
  }
  return true;
}

// "<bytes> <count>" with blanks around and between.
bool parse_delta(std::string_view line, std::int64_t* bytes, std::int64_t* count) {
  auto skip = [&] {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  };
  auto word = [&] {
    std::size_t n = 0;
    while (n < line.size() && line[n] != ' ' && line[n] != '\t') ++n;
    std::string_view w = line.substr(0, n);
    line.remove_prefix(n);
    return w;
  };
  skip();
  std::string_view a = word();
  skip();
  std::string_view b = word();
  skip();
  return line.empty() && parse_int(a, bytes) && parse_int(b, count);
}

Status sum_dir(int parent, const char* name, Usage* u) {
  UniqueFd dfd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dfd) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::ok();
    return Status::sys(std::string("open ") + name);
  }
  int fd2 = ::dup(dfd.get());
  if (fd2 < 0) return Status::sys("dup");
  DIR* d = ::fdopendir(fd2);
  if (!d) {
    ::close(fd2);
    return Status::sys(std::string("opendir ") + name);
  }
  Status st;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (auto s = size_field(n)) {
      u->bytes += static_cast<std::int64_t>(*s);
      u->count += 1;
      continue;
    }
    struct stat sb;
    if (::fstatat(dfd.get(), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISREG(sb.st_mode)) {
        u->bytes += sb.st_size;
        u->count += 1;
      }
    } else if (errno != ENOENT && st) {
      st = Status::sys(std::string("stat ") + e->d_name);
    }
    errno = 0;
  }
  if (errno != 0 && st) st = Status::sys(std::string("readdir ") + name);
  ::closedir(d);
  return st;
}

Status sum_folder(int dir, Usage* u) {
  MB_TRY(sum_dir(dir, "new", u));
  return sum_dir(dir, "cur", u);
}

}  // namespace

Result<Parsed> parse_maildirsize(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return Status::error("NUL byte in maildirsize");
  // A last line without its LF may be half written: ignore it.
  std::size_t end = text.rfind('\n');
  if (end == std::string_view::npos) return Status::error("no complete quota definition line");
  text = text.substr(0, end + 1);
  Parsed p;
  std::size_t nl = text.find('\n');
  if (!parse_def(text.substr(0, nl), &p.def)) return Status::error("bad quota definition line");
  text.remove_prefix(nl + 1);
  while (!text.empty()) {
    nl = text.find('\n');
    std::int64_t b = 0, c = 0;
    if (!parse_delta(text.substr(0, nl), &b, &c)) return Status::error("bad line in maildirsize");
    if (__builtin_add_overflow(p.usage.bytes, b, &p.usage.bytes) ||
        __builtin_add_overflow(p.usage.count, c, &p.usage.count))
      return Status::error("maildirsize totals overflow");
    ++p.delta_lines;
    text.remove_prefix(nl + 1);
  }
  if (p.usage.bytes < 0 || p.usage.count < 0) return Status::error("negative totals in maildirsize");
  return p;
}

std::string format_quota_def(const QuotaDef& def) {
  std::string s;
  // As Dovecot: "0S" rather than an empty line when there are no limits.
  if (def.bytes != 0 || def.count == 0) s = std::to_string(def.bytes) + "S";
  if (def.count != 0) {
    if (!s.empty()) s += ",";
    s += std::to_string(def.count) + "C";
  }
  return s;
}

std::string format_delta(std::int64_t bytes, std::int64_t count) {
  return std::to_string(bytes) + " " + std::to_string(count) + "\n";
}

std::optional<std::uint64_t> size_field(std::string_view filename) {
  filename = filename.substr(0, filename.find(':'));
  std::size_t pos = filename.find(",S=");
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = filename.substr(pos + 3);
  std::size_t n = 0;
  std::uint64_t v = 0;
  while (n < rest.size() && is_digit(rest[n])) {
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<unsigned>(rest[n] - '0'), &v))
      return std::nullopt;
    ++n;
  }
  if (n == 0 || (n < rest.size() && rest[n] != ',')) return std::nullopt;
  return v;
}

bool over_quota(const QuotaDef& def, const Usage& u) {
  return (def.bytes != 0 && u.bytes > static_cast<std::int64_t>(def.bytes)) ||
         (def.count != 0 && u.count > static_cast<std::int64_t>(def.count));
}

Result<Usage> scan_maildir(const std::string& maildir) {
  UniqueFd root(::open(maildir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    if (errno == ENOENT) return Usage{};  // nothing delivered yet
    return Status::sys("open " + maildir);
  }
  Usage u;
  Status st = sum_folder(root.get(), &u);
  if (!st) return Status::error(maildir + ": " + st.message(), st.err());
  int fd2 = ::dup(root.get());
  if (fd2 < 0) return Status::sys("dup");
  DIR* d = ::fdopendir(fd2);
  if (!d) {
    ::close(fd2);
    return Status::sys("opendir " + maildir);
  }
  // Maildir++ folders: ".Name" directories in the root (Dovecot counts every folder,
  // Trash included, unless told otherwise; so do we).
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() < 2 || n[0] != '.' || n == "..") continue;
    UniqueFd f(::openat(root.get(), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!f) {
      errno = 0;
      continue;  // a file, a symlink, or gone
    }
    st = sum_folder(f.get(), &u);
    if (!st) break;
    errno = 0;
  }
  if (st && errno != 0) st = Status::sys("readdir " + maildir);
  ::closedir(d);
  if (!st) return Status::error(maildir + ": " + st.message(), st.err());
  return u;
}

Status write_maildirsize(const std::string& maildir, const QuotaDef& def, const Usage& u) {
  static std::atomic<unsigned> counter{0};
  char name[96];
  std::snprintf(name, sizeof name, "/tmp/%lld.%ld_%u.mailbag-maildirsize",
                static_cast<long long>(::time(nullptr)), static_cast<long>(::getpid()), counter.fetch_add(1));
  std::string tmp = maildir + name;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660));
  if (!fd) return Status::sys("create " + tmp);
  // Group read/write for every program of the Maildir's group, whatever the umask.
  Status st = ::fchmod(fd.get(), 0660) < 0 ? Status::sys("fchmod " + tmp) : Status::ok();
  if (st) st = io::write_all(fd.get(), format_quota_def(def) + "\n" + format_delta(u.bytes, u.count));
  fd.reset();
  if (st && ::rename(tmp.c_str(), (maildir + "/" + kMaildirsize).c_str()) < 0)
    st = Status::sys("rename " + tmp + " to maildirsize");
  if (!st) ::unlink(tmp.c_str());
  return st;
}

Result<UsageInfo> read_usage(const std::string& maildir, const QuotaDef& def, const ReadOptions& opt) {
  std::string path = maildir + "/" + kMaildirsize;
  // Any member of the Maildir's group may have put a FIFO, device or symlink here: such
  // a file is never opened in a way that blocks, and counts as unusable (recalculated,
  // and replaced by the rewrite when we may write).
  auto fd = open_regular(path, O_RDONLY);
  if (fd) {
    std::string text;
    Status st = io::pread_upto(fd->get(), &text, kMaxMaildirsize + 1, 0);
    struct stat sb;
    if (st && text.size() <= kMaxMaildirsize && ::fstat(fd->get(), &sb) == 0) {
      auto p = parse_maildirsize(text);
      if (p && p->def == def) {
        bool stale = p->delta_lines > 1 || sb.st_mtime < opt.now - kStaleSeconds;
        // Over quota is only believed from a fresh, just-recalculated file, so that a
        // lost removal line cannot keep a user locked out.
        if (!over_quota(def, p->usage) || !stale) return UsageInfo{p->usage, false};
      }
    }
  } else if (fd.status().err() != ENOENT && fd.status().err() != EINVAL && fd.status().err() != ELOOP) {
    return fd.status();
  }
  auto u = scan_maildir(maildir);
  if (!u) return u.status();
  if (opt.may_write) (void)write_maildirsize(maildir, def, *u);  // a cache: the usage is right anyway
  return UsageInfo{*u, true};
}

Result<bool> append_delta(const std::string& maildir, std::int64_t bytes, std::int64_t count) {
  std::string path = maildir + "/" + kMaildirsize;
  auto opened = open_regular(path, O_WRONLY | O_APPEND);
  if (!opened) {
    if (opened.status().err() == ENOENT) return false;
    return opened.status();
  }
  UniqueFd fd = std::move(*opened);
  // One write(2) with O_APPEND: concurrent writers never interleave inside a line.
  std::string line = format_delta(bytes, count);
  ssize_t n;
  do {
    n = ::write(fd.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::sys("append to " + path);
  if (static_cast<std::size_t>(n) != line.size()) return Status::error("short append to " + path, EIO);
  return true;
}

}  // namespace common::maildir
