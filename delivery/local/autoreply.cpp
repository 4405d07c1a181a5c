// Auto-reply decisions and the vacation record (see autoreply.hpp).
#include "delivery/local/autoreply.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "common/io/fdio.hpp"
#include "common/mail/ascii.hpp"
#include "common/maildir/mailbox_file.hpp"

namespace delivery::local {

using common::mail::lower;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The first token of a structured value: "auto-replied; x=y (c)" -> "auto-replied".
std::string token(std::string_view v) {
  v = v.substr(0, v.find_first_of(";( \t"));
  return lower(trim(v));
}

// Senders that are programs or lists, never people (as vacation(1) and Sieve tell them).
bool daemon_sender(const std::string& local) {
  static const char* exact[] = {"mailer-daemon", "mailer", "postmaster", "listserv", "majordomo", "nobody"};
  for (const char* e : exact)
    if (local == e) return true;
  return local.starts_with("owner-") || local.ends_with("-owner") || local.ends_with("-request") ||
         local.ends_with("-bounces") || local.starts_with("bounce");
}

// "user+tag@domain" -> "user@domain" with any of `delims`.
std::string strip_tag(const std::string& addr, const std::string& delims) {
  auto at = addr.rfind('@');
  if (at == std::string::npos || delims.empty()) return addr;
  auto cut = addr.find_first_of(delims);
  if (cut == std::string::npos || cut == 0 || cut > at) return addr;
  return addr.substr(0, cut) + addr.substr(at);
}

struct Entry {
  std::int64_t time = 0;
  std::string sender;
};

std::vector<Entry> parse_log(std::string_view text) {
  std::vector<Entry> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp > 19) continue;
    std::int64_t t = 0;
    bool ok = true;
    for (char c : line.substr(0, sp)) {
      if (c < '0' || c > '9') ok = false;
      t = t * 10 + (c - '0');
    }
    if (ok && sp + 1 < line.size()) out.push_back(Entry{t, std::string(line.substr(sp + 1))});
  }
  return out;
}

}  // namespace

std::optional<std::string> reply_refusal(const ReplyFacts& f) {
  const auto& ar = *f.autoreply;
  if (!ar.enabled) return "auto-reply off";
  if (ar.start != 0 && f.now < ar.start) return "auto-reply period not started";
  if (ar.end != 0 && f.now > ar.end) return "auto-reply period over";
  // RFC 3834 2: "MUST NOT ... for which the destination of that response would be a null
  // address".
  if (f.sender.empty()) return "null sender";
  std::string sender = lower(f.sender);
  if (sender == f.user || f.known_as->count(sender)) return "mail from the user";
  if (daemon_sender(sender.substr(0, sender.rfind('@')))) return "sender is a daemon or a list";
  const Headers& h = *f.headers;
  // An unread rest of the header block could hold Auto-Submitted or List-Id.
  if (h.truncated) return "header block too large to check";
  // RFC 3834 2: no response to a message whose Auto-Submitted is anything but "no".
  for (auto v : h.all("auto-submitted"))
    if (token(v) != "no") return "message is auto-submitted";
  for (auto v : h.all("precedence")) {
    std::string p = token(v);
    if (p == "bulk" || p == "list" || p == "junk") return "Precedence: " + p;
  }
  for (const char* l : {"list-id", "list-post", "list-unsubscribe"})
    if (h.has(l)) return "mailing list message";
  for (auto v : h.all("x-auto-response-suppress")) {
    std::string s = lower(v);
    if (s.find("oof") != std::string::npos || s.find("all") != std::string::npos)
      return "X-Auto-Response-Suppress";
  }
  // RFC 3834 2: "SHOULD NOT be issued unless a valid address for the recipient is
  // explicitly included in a recipient ... field".
  for (const char* field : {"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"})
    for (auto v : h.all(field))
      for (const auto& a : header_addresses(v)) {
        std::string k = lower(a);
        if (f.known_as->count(k) || f.known_as->count(strip_tag(k, f.delimiter))) return std::nullopt;
      }
  return "user not named in To or Cc";
}

common::Result<bool> VacationLog::recently_answered(const std::string& sender, std::int64_t now,
                                                    std::int64_t interval_days) {
  // Every member of the Maildir's group can plant a FIFO or symlink here: never block on
  // it or follow it (a FIFO would stall the whole delivery loop).
  auto text = common::maildir::read_regular(maildir_ + "/" + kVacationFile, 4u << 20);
  if (!text) {
    if (text.status().err() == ENOENT) return false;
    return text.status();
  }
  std::string s = lower(sender);
  std::int64_t since = now - interval_days * 86400;
  for (const auto& e : parse_log(*text))
    if (e.sender == s && e.time > since) return true;
  return false;
}

common::Status VacationLog::record(const std::string& sender, std::int64_t now, std::int64_t interval_days) {
  std::string path = maildir_ + "/" + kVacationFile;
  std::vector<Entry> entries;
  auto text = common::maildir::read_regular(path, 4u << 20);
  if (text) entries = parse_log(*text);
  std::string s = lower(sender);
  std::int64_t since = now - interval_days * 86400;
  std::erase_if(entries, [&](const Entry& e) { return e.time <= since || e.sender == s; });
  entries.push_back(Entry{now, s});
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.time < b.time; });
  if (entries.size() > kMaxVacationEntries)
    entries.erase(entries.begin(), entries.end() - kMaxVacationEntries);
  std::string out;
  for (const auto& e : entries) out += std::to_string(e.time) + " " + e.sender + "\n";
  static std::atomic<unsigned> counter{0};
  char name[96];
  std::snprintf(name, sizeof name, "/tmp/%lld.%ld_%u.mailbag-vacation", static_cast<long long>(now),
                static_cast<long>(::getpid()), counter.fetch_add(1));
  std::string tmp = maildir_ + name;
  common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660));
  if (!fd) return common::Status::sys("create " + tmp);
  common::Status st = ::fchmod(fd.get(), 0660) < 0 ? common::Status::sys("fchmod") : common::Status::ok();
  if (st) st = common::io::write_all(fd.get(), out);
  fd.reset();
  if (st && ::rename(tmp.c_str(), path.c_str()) < 0) st = common::Status::sys("rename to " + path);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

}  // namespace delivery::local
