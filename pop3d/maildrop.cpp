// The Maildir maildrop (see maildrop.hpp). Runs in the POP3 mailbox process
// (pop3d/mailbox) as mb-pop3mbox with group mb-mail; the Maildirs are mb-vmail:mb-mail
// 0770 with files 0660, so we can rename and unlink, and append the removals to the
// Maildir++ quota file maildirsize (0660, common/maildir).
#include "pop3d/maildrop.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "common/maildir/maildirsize.hpp"
#include "pop3d/stream.hpp"

namespace pop3d {

using common::Result;
using common::Status;
using common::io::UniqueFd;

namespace {

constexpr const char* kLockName = "mailbag-pop3.lock";
constexpr std::size_t kMaxUid = 70;  // RFC 1939 7

std::string_view base_name(std::string_view filename) { return filename.substr(0, filename.find(':')); }

Result<std::vector<std::string>> list_dir(int dirfd, const std::string& what) {
  int fd = ::dup(dirfd);
  if (fd < 0) return Status::sys("dup " + what);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return Status::sys("opendir " + what);
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;  // ".", "..", and hidden files are not messages
    names.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err) return Status::sys("readdir " + what, err);
  return names;
}

Result<std::uint64_t> size_by_reading(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Status::sys("open cur/" + name);
  WireSizer sizer;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::sys("read cur/" + name);
    if (n == 0) break;
    sizer.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  return sizer.size();
}

}  // namespace

// Arrival order (RFC 1939 has none; users expect oldest first). A Maildir name is
// "SECONDS.MIDDLE.HOST...": the middle part is a run of letter-number fields, of which
// "M<usec>" is the microsecond of delivery (our local agent, Dovecot, Courier and
// Postfix write it). Neither
// number has a fixed width, so both are compared as numbers: as strings "M10" would sort
// before "M9" and two messages of one second could be listed out of order.
namespace {

struct ArrivalKey {
  std::uint64_t seconds = 0;
  std::uint64_t usec = 0;  // 0 when the name has no M field (older writers)
  std::string_view rest;   // the name after the numbers used, for a stable total order
};

// Reads leading decimal digits (saturating); *pos moves past them.
std::uint64_t read_number(std::string_view s, std::size_t* pos) {
  std::uint64_t n = 0;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
    if (n < (1ull << 60)) n = n * 10 + static_cast<std::uint64_t>(s[*pos] - '0');
    ++*pos;
  }
  return n;
}

ArrivalKey arrival_key(std::string_view name) {
  ArrivalKey k;
  std::size_t pos = 0;
  k.seconds = read_number(name, &pos);
  std::size_t rest_from = pos;
  if (pos < name.size() && name[pos] == '.') {
    // The first "M<digits>" of the middle part, wherever it stands: Dovecot and Courier
    // write it first ("M<usec>P<pid>"), Postfix after its hexadecimal device and inode
    // fields ("V<hex>I<hex>M<usec>", lower-case hex, so an 'M' there is always the tag).
    std::size_t end = name.find('.', pos + 1);
    if (end == std::string_view::npos) end = name.size();
    for (std::size_t i = pos + 1; i + 1 < end; ++i) {
      if (name[i] != 'M' || name[i + 1] < '0' || name[i + 1] > '9') continue;
      std::size_t j = i + 1;
      k.usec = read_number(name, &j);
      rest_from = j;
      break;
    }
  }
  k.rest = name.substr(rest_from);
  return k;
}

}  // namespace

bool arrival_less(std::string_view a, std::string_view b) {
  ArrivalKey ka = arrival_key(a), kb = arrival_key(b);
  if (ka.seconds != kb.seconds) return ka.seconds < kb.seconds;
  if (ka.usec != kb.usec) return ka.usec < kb.usec;
  if (ka.rest != kb.rest) return ka.rest < kb.rest;
  return a < b;
}

std::string uid_for(std::string_view filename) {
  std::string_view base = base_name(filename);
  bool ok = !base.empty() && base.size() <= kMaxUid;
  for (char c : base)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) ok = false;
  if (ok) return std::string(base);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(base.data()), base.size(), md);
  std::string out = "S";
  char hex[3];
  for (int i = 0; i < 20; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

std::optional<std::uint64_t> wire_size_field(std::string_view filename) {
  std::string_view base = base_name(filename);
  auto pos = base.find(",W=");
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view v = base.substr(pos + 3);
  v = v.substr(0, v.find(','));
  if (v.empty() || v.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

Result<std::unique_ptr<Maildrop>> Maildrop::open(const std::string& path, OpenError* why) {
  *why = OpenError::kFailed;
  std::unique_ptr<Maildrop> md(new Maildrop());
  md->path_ = path;
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return Status::sys("open maildir " + path);
  // The lock file is created 0660 so that pop3d, whatever user last created it, and
  // other members of mb-mail can all lock it.
  md->lock_.reset(::openat(dir.get(), kLockName, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660));
  if (!md->lock_) return Status::sys("open " + path + "/" + kLockName);
  if (::flock(md->lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) *why = OpenError::kInUse;
    return Status::sys("lock " + path);
  }
  UniqueFd nw(::openat(dir.get(), "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  md->cur_.reset(::openat(dir.get(), "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!nw) return Status::sys("open " + path + "/new");
  if (!md->cur_) return Status::sys("open " + path + "/cur");

  // Maildir: a reader moves new/NAME to cur/NAME:2,FLAGS when it has seen the message.
  auto fresh = list_dir(nw.get(), path + "/new");
  if (!fresh) return fresh.status();
  bool moved = false;
  for (const auto& name : *fresh) {
    if (name.find(':') != std::string::npos) continue;  // not a new-style name: leave it
    std::string to = name + ":2,";
    if (::renameat(nw.get(), name.c_str(), md->cur_.get(), to.c_str()) == 0) {
      moved = true;
    } else if (errno != ENOENT) {  // ENOENT: another reader (e.g. IMAP) moved it first
      return Status::sys("rename new/" + name + " to cur/");
    }
  }
  if (moved && ::fsync(md->cur_.get()) != 0) return Status::sys("fsync " + path + "/cur");

  auto names = list_dir(md->cur_.get(), path + "/cur");
  if (!names) return names.status();
  std::sort(names->begin(), names->end(), arrival_less);
  for (auto& name : *names) {
    MessageInfo m;
    m.uid = uid_for(name);
    if (auto w = wire_size_field(name)) {
      m.size = *w;
    } else {
      auto s = size_by_reading(md->cur_.get(), name);
      if (!s) {
        if (s.status().err() == ENOENT) continue;  // removed meanwhile by another reader
        return s.status();
      }
      m.size = *s;
    }
    m.name = std::move(name);
    md->msgs_.push_back(std::move(m));
  }
  *why = OpenError::kNone;
  return md;
}

void Maildrop::unmark_all() {
  for (auto& m : msgs_) m.deleted = false;
}

std::size_t Maildrop::live_count() const {
  return static_cast<std::size_t>(
      std::count_if(msgs_.begin(), msgs_.end(), [](const auto& m) { return !m.deleted; }));
}

std::uint64_t Maildrop::live_size() const {
  std::uint64_t n = 0;
  for (const auto& m : msgs_)
    if (!m.deleted) n += m.size;
  return n;
}

Result<UniqueFd> Maildrop::open_message(std::size_t i) const {
  UniqueFd fd(::openat(cur_.get(), msgs_[i].name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Status::sys("open " + path_ + "/cur/" + msgs_[i].name);
  return fd;
}

Result<std::size_t> Maildrop::commit() {
  std::size_t removed = 0;
  std::int64_t freed = 0, freed_count = 0;
  Status first;
  for (const auto& m : msgs_) {
    if (!m.deleted) continue;
    // Maildir++ quota counts the file's own size: ",S=" when the name has it, else stat.
    std::int64_t size = -1;
    if (auto s = common::maildir::size_field(m.name)) {
      size = static_cast<std::int64_t>(*s);
    } else {
      struct stat st;
      if (::fstatat(cur_.get(), m.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) size = st.st_size;
    }
    if (::unlinkat(cur_.get(), m.name.c_str(), 0) == 0) {
      ++removed;
      if (size >= 0) {
        freed += size;
        ++freed_count;
      }
    } else if (errno == ENOENT) {
      ++removed;  // gone already: whoever removed it accounted for it
    } else if (first) {
      first = Status::sys("unlink " + path_ + "/cur/" + m.name);
    }
  }
  // One "-bytes -count" line for the whole session, if the Maildir keeps a maildirsize
  // (never created here: the local agent recalculates a missing one).
  if (freed_count > 0) (void)common::maildir::append_delta(path_, -freed, -freed_count);
  if (removed && ::fsync(cur_.get()) != 0 && first) first = Status::sys("fsync " + path_ + "/cur");
  if (!first) return first;
  return removed;
}

}  // namespace pop3d
