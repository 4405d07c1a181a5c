// Implementation of Maildir delivery (see maildir.hpp). Fault-injection points
// (common/spool/fault.hpp, listed in local(8)): local.write, local.fsync,
// local.before_rename, local.dir_fsync (local.fsync and local.dir_fsync also name the
// syncfs calls that replace the fsyncs in larger batches).
#include "delivery/local/maildir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/io/fdio.hpp"
#include "common/mail/ascii.hpp"
#include "common/spool/fault.hpp"

namespace delivery::local {

using common::Result;
using common::Status;
namespace fault = common::spool::fault;

std::string maildir_hostname(std::string_view host) {
  std::string out;
  for (char c : host) {
    if (c == '/')
      out += "\\057";
    else if (c == ':')
      out += "\\072";
    else if (c == ',')
      out += "\\054";
    else
      out += c;
  }
  return out;
}

std::string unique_name(std::int64_t seconds, long usec, pid_t pid, std::uint64_t counter,
                        std::string_view escaped_host, std::uint64_t size, std::uint64_t vsize,
                        std::string_view tag) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%lld.M%ldP%ldQ%llu", static_cast<long long>(seconds), usec,
                static_cast<long>(pid), static_cast<unsigned long long>(counter));
  std::string name = buf;
  name.append(tag);
  name += ".";
  name.append(escaped_host);
  std::snprintf(buf, sizeof buf, ",S=%llu,W=%llu", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(vsize));
  name += buf;
  return name;
}

NameGenerator::NameGenerator(std::string_view hostname)
    : host_(maildir_hostname(hostname)), pid_(::getpid()) {}

std::string NameGenerator::next(std::uint64_t size, std::uint64_t vsize, std::string_view tag) {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return unique_name(ts.tv_sec, ts.tv_nsec / 1000, pid_, ++counter_, host_, size, vsize, tag);
}

std::string delivery_tag(std::string_view queue_id, std::string_view recipient) {
  // FNV-1a, 64 bits: it only has to tell apart the recipients of one message.
  std::uint64_t h = 14695981039346656037ull;
  for (char c : recipient) {
    h = (h ^ static_cast<unsigned char>(common::mail::lower(c))) * 1099511628211ull;
  }
  std::string tag = "R";
  for (char c : queue_id)
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) tag.push_back(c);
  char buf[24];
  std::snprintf(buf, sizeof buf, "-%016llx", static_cast<unsigned long long>(h));
  return tag + buf;
}

std::string delivery_headers(std::string_view sender, std::string_view mailbox_address,
                             std::string_view recipient) {
  std::string h = "Return-Path: <";
  h.append(sender);
  h += ">\n";
  if (!recipient.empty() && !common::mail::iequals(recipient, mailbox_address)) {
    h += "X-Original-To: ";
    h.append(recipient);
    h += "\n";
  }
  h += "Delivered-To: ";
  h.append(mailbox_address);
  h += "\n";
  return h;
}

namespace {

Result<common::io::UniqueFd> open_subdir(int dir, const char* name) {
  common::io::UniqueFd fd(::openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Status::sys(std::string("open ") + name);
  return fd;
}

}  // namespace

namespace {

// cur/ new/ tmp/ in the Maildir open as `dir`, created when missing; `path` for messages.
Status make_subdirs(int dir, const std::string& path) {
  for (const char* sub : {"cur", "new", "tmp"}) {
    if (::mkdirat(dir, sub, 0770) == 0) {
      // Whatever the umask: the group (mb-mail) reads and moves messages too.
      ::fchmodat(dir, sub, 0770, 0);
    } else if (errno != EEXIST) {
      return Status::sys("mkdir " + path + "/" + sub);
    }
  }
  return Status::ok();
}

// The root of a Maildir, created (with its parents) when missing.
Result<common::io::UniqueFd> open_root(const std::string& path) {
  common::io::UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir && errno == ENOENT) {
    MB_TRY(common::io::make_dirs(path, 0770));
    dir.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!dir) return Status::sys("open maildir " + path);
  return dir;
}

// Adds `name` to the "subscriptions" file in the root `dir` unless it is listed.
Status subscribe(int dir, const std::string& root, std::string_view name) {
  common::io::UniqueFd fd(
      ::openat(dir, "subscriptions", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0660));
  if (!fd) return Status::sys("open " + root + "/subscriptions");
  ::fchmod(fd.get(), 0660);
  std::string text;
  MB_TRY(common::io::pread_upto(fd.get(), &text, 1 << 20, 0));
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = std::string_view(text).substr(pos, nl == std::string::npos ? nl : nl - pos);
    if (line == name) return Status::ok();
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  std::string add = (text.empty() || text.back() == '\n') ? "" : "\n";
  add.append(name);
  add += "\n";
  return common::io::write_all(fd.get(), add);
}

}  // namespace

Result<Maildir> Maildir::at(common::io::UniqueFd dir, const std::string& path) {
  Maildir md;
  md.path_ = path;
  auto tmp = open_subdir(dir.get(), "tmp");
  auto nw = open_subdir(dir.get(), "new");
  if (!tmp || !nw) {
    MB_TRY(make_subdirs(dir.get(), path));
    tmp = open_subdir(dir.get(), "tmp");
    nw = open_subdir(dir.get(), "new");
    if (!tmp) return Status::error(path + ": " + tmp.message(), tmp.status().err());
    if (!nw) return Status::error(path + ": " + nw.message(), nw.status().err());
  }
  md.tmp_ = std::move(*tmp);
  md.new_ = std::move(*nw);
  struct stat st;
  if (::fstat(md.tmp_.get(), &st) < 0) return Status::sys("stat " + path + "/tmp");
  md.dev_ = st.st_dev;
  return md;
}

Result<Maildir> Maildir::open(const std::string& path) {
  auto dir = open_root(path);
  if (!dir) return dir.status();
  return at(std::move(*dir), path);
}

Result<Maildir> Maildir::open_folder(const std::string& root, std::string_view name) {
  if (name.empty() || name.find_first_of("./") != std::string_view::npos)
    return Status::error("bad folder name", EINVAL);
  auto dir = open_root(root);
  if (!dir) return dir.status();
  std::string sub = "." + std::string(name);
  std::string path = root + "/" + sub;
  bool created = false;
  if (::mkdirat(dir->get(), sub.c_str(), 0770) == 0) {
    ::fchmodat(dir->get(), sub.c_str(), 0770, 0);
    created = true;
  } else if (errno != EEXIST) {
    return Status::sys("mkdir " + path);
  }
  common::io::UniqueFd folder(
      ::openat(dir->get(), sub.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!folder) return Status::sys("open " + path);
  if (created) {
    // Maildir++: the marker that this directory is a folder, not a root (Courier reads it).
    common::io::UniqueFd marker(
        ::openat(folder.get(), "maildirfolder", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660));
    if (marker) ::fchmod(marker.get(), 0660);
    MB_TRY(make_subdirs(folder.get(), path));
    // Last: a folder that IMAP clients list must be complete.
    MB_TRY(subscribe(dir->get(), root, name));
  }
  return at(std::move(folder), path);
}

Status Maildir::sync_new() const {
  if (fault::hit("local.dir_fsync")) return Status::error("fsync " + path_ + "/new: injected fault", EIO);
  if (::fsync(new_.get()) < 0) return Status::sys("fsync " + path_ + "/new");
  return Status::ok();
}

Result<bool> Maildir::holds(std::string_view tag) const {
  if (tag.empty()) return false;
  for (const char* sub : {"new", "cur"}) {
    std::string dir = path_ + "/" + sub;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT) continue;
      return Status::sys("opendir " + dir);
    }
    bool found = false;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      n = n.substr(0, n.find(':'));
      auto at = n.find(tag);
      // The tag ends the unique part: followed by '.' and the host name.
      if (at != std::string_view::npos && at + tag.size() < n.size() && n[at + tag.size()] == '.') {
        found = true;
        break;
      }
    }
    ::closedir(d);
    if (found) return true;
  }
  return false;
}

Status Maildir::sync_filesystem(const char* fault_point) const {
  if (fault::hit(fault_point)) return Status::error("syncfs " + path_ + ": injected fault", EIO);
  // Since Linux 5.8 syncfs reports write-back errors of the filesystem seen since this
  // descriptor was opened (at the start of the batch), so our own files are covered.
  if (::syncfs(tmp_.get()) < 0) return Status::sys("syncfs " + path_);
  return Status::ok();
}

Result<Draft> write_draft(const Maildir& md, NameGenerator& names, std::string_view headers,
                          const MessageRef& msg, std::string_view tag) {
  Draft d;
  std::uint64_t header_lines = 0;
  for (char c : headers)
    if (c == '\n') ++header_lines;
  d.size = headers.size() + msg.size;
  std::uint64_t vsize = d.size + header_lines + msg.lines;
  for (int attempt = 0; attempt < 5 && !d.fd; ++attempt) {
    d.name = names.next(d.size, vsize, tag);
    d.fd.reset(
        ::openat(md.tmp_fd(), d.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660));
    if (!d.fd && errno != EEXIST) return Status::sys("create " + md.path() + "/tmp/" + d.name);
  }
  if (!d.fd) return Status::error("create " + md.path() + "/tmp: names keep colliding", EEXIST);
  // Group read/write for mb-mail readers (pop3d, Dovecot) whatever the umask.
  Status st = ::fchmod(d.fd.get(), 0660) < 0 ? Status::sys("fchmod") : Status::ok();
  if (st && fault::hit("local.write")) st = Status::error("write: injected fault", EIO);
  if (st) st = common::io::write_all(d.fd.get(), headers);
  if (st) st = copy_message(msg, d.fd.get());
  if (!st) {
    ::unlinkat(md.tmp_fd(), d.name.c_str(), 0);
    return Status::error("write " + md.path() + "/tmp/" + d.name + ": " + st.message(), st.err());
  }
  return d;
}

Status sync_draft(const Maildir& md, Draft& d) {
  if (!d.fd) {
    d.fd.reset(::openat(md.tmp_fd(), d.name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!d.fd) return Status::sys("reopen " + md.path() + "/tmp/" + d.name);
  }
  Status st = fault::hit("local.fsync") ? Status::error("fsync: injected fault", EIO)
                                        : common::io::fsync_fd(d.fd.get(), "message file");
  d.fd.reset();
  if (!st) return Status::error(md.path() + "/tmp/" + d.name + ": " + st.message(), st.err());
  return Status::ok();
}

Status publish_draft(const Maildir& md, Draft& d) {
  if (fault::hit("local.before_rename")) return Status::error("rename: injected fault", EIO);
  if (::renameat(md.tmp_fd(), d.name.c_str(), md.new_fd(), d.name.c_str()) < 0)
    return Status::sys("rename " + md.path() + "/tmp/" + d.name + " to new/");
  d.in_new = true;
  return Status::ok();
}

void discard_draft(const Maildir& md, Draft& d) {
  d.fd.reset();
  ::unlinkat(d.in_new ? md.new_fd() : md.tmp_fd(), d.name.c_str(), 0);
}

}  // namespace delivery::local
