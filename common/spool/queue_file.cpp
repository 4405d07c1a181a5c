// Queue file format (see queue_file.hpp and mailbag-queue(5)). UNTRUSTED: the queue
// manager parses files written by less-privileged smtpd and sendmail.
#include "common/spool/queue_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/io/fdio.hpp"
#include "common/mail/address.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/queue_id.hpp"

namespace common::spool {
namespace {

constexpr std::string_view kMagic = "MBQ1\n";
constexpr std::size_t kDigits = 20;

std::string pad20(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(v));
  return buf;
}

bool parse_u64(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(n, 10u, &n) || __builtin_add_overflow(n, static_cast<unsigned>(c - '0'), &n))
      return false;
  }
  *out = n;
  return true;
}

bool printable_text(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// "<addr>" -> canonical address ("" for <>), validated by the one address parser.
Result<std::string> parse_bracketed(std::string_view v, bool allow_null, bool utf8) {
  if (v.size() < 2 || v.front() != '<' || v.back() != '>') return Status::error("address not in <>");
  mail::PathOptions opt;
  opt.allow_null = allow_null;
  opt.allow_utf8 = utf8;
  std::size_t used = 0;
  auto a = mail::parse_path(v, opt, &used);
  if (!a) return a.status();
  if (used != v.size()) return Status::error("junk after address");
  if (!a->null() && a->domain.empty()) return Status::error("address without domain");
  return a->str();
}

// One record value: a control character (above all LF) would end the record early and
// let the rest of a peer-supplied text (a HELO name, say) pose as a record of its own.
std::string clean(std::string_view v) {
  std::string out(v);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace

std::string format_envelope(const Envelope& e) {
  std::string h(kMagic);
  h += "I " + clean(e.queue_id) + "\n";
  h += "T " + std::to_string(e.arrival) + "\n";
  h += "P " + clean(e.protocol) + "\n";
  if (!e.client.empty()) h += "C " + clean(e.client) + "\n";
  if (!e.auth_user.empty()) h += "A " + clean(e.auth_user) + "\n";
  h += e.body_8bit ? "B 8BITMIME\n" : "B 7BIT\n";
  if (e.smtputf8) h += "U\n";
  h += "S <" + clean(e.sender) + ">\n";
  for (const auto& r : e.recipients) h += "R <" + clean(r) + ">\n";
  if (e.dsn_ret != common::mail::DsnRet::kUnspecified || !e.dsn_envid.empty()) {
    const char* ret = common::mail::ret_text(e.dsn_ret);
    h += std::string("D ") + (*ret ? ret : "-") + " " +
         (e.dsn_envid.empty() ? "-" : common::mail::xtext_encode(e.dsn_envid)) + "\n";
  }
  for (std::size_t i = 0; i < e.dsn.size() && i < e.recipients.size(); ++i) {
    const auto& d = e.dsn[i];
    if (!d.given()) continue;
    std::string notify = common::mail::notify_text(d.notify);
    std::string orcpt = "-";
    if (auto semi = d.orcpt.find(';'); semi != std::string::npos)
      orcpt = clean(d.orcpt.substr(0, semi + 1)) + common::mail::xtext_encode(d.orcpt.substr(semi + 1));
    h += "N " + std::to_string(i) + " " + (notify.empty() ? "-" : notify) + " " + orcpt + "\n";
  }
  if (!e.hold_reason.empty()) h += "H " + clean(e.hold_reason.substr(0, kMaxHoldReason)) + "\n";
  if (e.requiretls) h += "Q\n";
  // Always written, one fixed width, so that the writer can patch it at the end.
  h += e.junk ? "J 1\n" : "J 0\n";
  h += "Z " + pad20(e.data_size) + " " + pad20(e.data_lines) + "\n";
  h += "E\n";
  return h;
}

Result<ParsedEnvelope> parse_envelope(std::string_view head) {
  if (head.substr(0, kMagic.size()) != kMagic) return Status::error("bad magic (not a queue file)");
  ParsedEnvelope out;
  Envelope& e = out.env;
  std::size_t pos = kMagic.size();
  bool have[128] = {};
  bool ended = false;
  std::string sender_raw;
  std::vector<std::string_view> rcpt_raw;
  std::vector<std::pair<std::size_t, common::mail::DsnRcpt>> dsn_raw;
  while (pos < head.size() && pos < kMaxEnvelope) {
    std::size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) return Status::error("empty envelope record");
    char tag = line[0];
    std::string_view v = line.size() > 2 ? line.substr(2) : std::string_view();
    if (line.size() >= 2 && line[1] != ' ') return Status::error("bad envelope record");
    if (!printable_text(line)) return Status::error("control character in envelope");
    if (static_cast<unsigned char>(tag) >= 128) return Status::error("bad envelope record");
    if (tag != 'R' && tag != 'N' && have[static_cast<int>(tag)])
      return Status::error(std::string("duplicate record ") + tag);
    have[static_cast<int>(tag)] = true;
    switch (tag) {
      case 'I':
        if (!is_queue_id(v)) return Status::error("bad queue id");
        e.queue_id = std::string(v);
        break;
      case 'T': {
        std::uint64_t t;
        if (!parse_u64(v, &t) || t > (1ULL << 40)) return Status::error("bad arrival time");
        e.arrival = static_cast<std::int64_t>(t);
        break;
      }
      case 'P':
        if (v.empty() || v.size() > 16) return Status::error("bad protocol");
        e.protocol = std::string(v);
        break;
      case 'C':
        if (v.size() > 1024) return Status::error("client record too long");
        e.client = std::string(v);
        break;
      case 'A':
        if (v.empty() || v.size() > 320) return Status::error("bad auth record");
        e.auth_user = std::string(v);
        break;
      case 'B':
        if (v == "8BITMIME")
          e.body_8bit = true;
        else if (v != "7BIT")
          return Status::error("bad body type");
        break;
      case 'U':
        if (line.size() != 1) return Status::error("bad U record");
        e.smtputf8 = true;
        break;
      case 'S':
        if (have['R']) return Status::error("sender after recipients");
        sender_raw = std::string(v);
        break;
      case 'R': rcpt_raw.push_back(v); break;
      case 'D': {
        auto sp = v.find(' ');
        if (sp == std::string_view::npos) return Status::error("bad DSN record");
        std::string_view ret = v.substr(0, sp), envid = v.substr(sp + 1);
        if (ret != "-") {
          auto r = common::mail::parse_ret(ret);
          if (!r) return Status::error("bad DSN RET");
          e.dsn_ret = *r;
        }
        if (envid != "-") {
          auto id = common::mail::parse_envid(envid);
          if (!id) return Status::error("bad DSN ENVID");
          e.dsn_envid = std::move(*id);
        }
        break;
      }
      case 'N': {
        auto sp1 = v.find(' ');
        auto sp2 = sp1 == std::string_view::npos ? sp1 : v.find(' ', sp1 + 1);
        std::uint64_t i = 0;
        if (sp2 == std::string_view::npos || !parse_u64(v.substr(0, sp1), &i) || i >= (1u << 24))
          return Status::error("bad DSN recipient record");
        common::mail::DsnRcpt d;
        std::string_view notify = v.substr(sp1 + 1, sp2 - sp1 - 1), orcpt = v.substr(sp2 + 1);
        if (notify != "-") {
          auto n = common::mail::parse_notify(notify);
          if (!n) return Status::error("bad DSN NOTIFY");
          d.notify = *n;
        }
        if (orcpt != "-") {
          auto o = common::mail::parse_orcpt(orcpt);
          if (!o) return Status::error("bad DSN ORCPT");
          d.orcpt = std::move(*o);
        }
        if (!d.given()) return Status::error("empty DSN recipient record");
        dsn_raw.emplace_back(static_cast<std::size_t>(i), std::move(d));
        break;
      }
      case 'H':
        if (v.empty() || v.size() > kMaxHoldReason) return Status::error("bad hold record");
        e.hold_reason = std::string(v);
        break;
      case 'Q':
        if (line.size() != 1) return Status::error("bad Q record");
        e.requiretls = true;
        break;
      case 'J':
        if (v != "0" && v != "1") return Status::error("bad junk record");
        e.junk = v == "1";
        break;
      case 'Z': {
        if (v.size() != 2 * kDigits + 1 || v[kDigits] != ' ' ||
            !parse_u64(v.substr(0, kDigits), &e.data_size) ||
            !parse_u64(v.substr(kDigits + 1), &e.data_lines))
          return Status::error("bad size record");
        break;
      }
      case 'E':
        if (line.size() != 1) return Status::error("bad end record");
        ended = true;
        break;
      default: return Status::error("unknown record type " + std::to_string(static_cast<unsigned char>(tag)));
    }
    if (ended) break;
  }
  if (!ended) return Status::error("envelope incomplete (truncated file?)");
  for (char t : {'I', 'T', 'P', 'B', 'S', 'R', 'Z'})
    if (!have[static_cast<int>(t)]) return Status::error(std::string("missing record ") + t);
  // Addresses are validated after U is known, whatever the record order.
  auto s = parse_bracketed(sender_raw, true, e.smtputf8);
  if (!s) return Status::error("bad sender: " + s.message());
  e.sender = std::move(*s);
  for (auto r : rcpt_raw) {
    auto a = parse_bracketed(r, false, e.smtputf8);
    if (!a) return Status::error("bad recipient: " + a.message());
    e.recipients.push_back(std::move(*a));
  }
  for (auto& [i, d] : dsn_raw) {
    if (i >= e.recipients.size()) return Status::error("DSN record for a recipient that does not exist");
    if (e.dsn.empty()) e.dsn.resize(e.recipients.size());
    if (e.dsn[i].given()) return Status::error("two DSN records for one recipient");
    e.dsn[i] = std::move(d);
  }
  out.data_offset = pos;
  return out;
}

Result<ParsedEnvelope> read_envelope(int fd) {
  struct stat st;
  if (::fstat(fd, &st) < 0) return Status::sys("fstat");
  if (!S_ISREG(st.st_mode)) return Status::error("not a regular file");
  std::string head;
  std::size_t want = 8192;
  for (;;) {
    MB_TRY(io::pread_upto(fd, &head, want, 0));
    auto p = parse_envelope(head);
    if (p) {
      std::uint64_t expect;
      if (__builtin_add_overflow(p->data_offset, p->env.data_size, &expect))
        return Status::error("size record overflows");
      if (static_cast<std::uint64_t>(st.st_size) != expect)
        return Status::error("file is " + std::to_string(st.st_size) + " bytes, envelope says " +
                             std::to_string(expect) + " (truncated or damaged)");
      return p;
    }
    // Incomplete only because we did not read far enough? Read more, up to the limit.
    if (head.size() < want || want >= kMaxEnvelope) return p;
    want *= 4;
  }
}

Result<QueueFileWriter> QueueFileWriter::create(int dir_fd, const Envelope& env) {
  QueueFileWriter w;
  w.fd_.reset(::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0660));
  if (!w.fd_) return Status::sys("open O_TMPFILE in drop directory");
  // The umask must not take the group bits: the queue manager links the file through
  // its group permission (fs.protected_hardlinks wants read and write access).
  if (::fchmod(w.fd_.get(), 0660) < 0) return Status::sys("fchmod queue file");
  std::string h = format_envelope(env);
  w.z_offset_ = h.size() - (2 + 2 * kDigits + 1 + 1) - 2;  // start of "Z ...\n" before "E\n"
  w.junk_ = env.junk;
  w.buf_ = std::move(h);
  return w;
}

Status QueueFileWriter::append(std::string_view data) {
  // memchr, not a byte loop: this runs over every byte smtpd and sendmail accept.
  const char* p = data.data();
  const char* end = p + data.size();
  while (p < end && (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
    ++lines_;
    ++p;
  }
  size_ += data.size();
  buf_.append(data);
  if (buf_.size() >= 64 * 1024) return flush();
  return Status::ok();
}

Status QueueFileWriter::flush() {
  if (buf_.empty()) return Status::ok();
  if (fault::hit("queue_file.write")) return Status::error("write: injected fault", EIO);
  MB_TRY(io::pwrite_all(fd_.get(), buf_, static_cast<off_t>(written_)));
  written_ += buf_.size();
  buf_.clear();
  return Status::ok();
}

Status QueueFileWriter::finish() {
  MB_TRY(flush());
  // "J x\nZ ...": the junk record sits just before Z (format_envelope).
  std::string jz = std::string(junk_ ? "J 1\n" : "J 0\n") + "Z " + pad20(size_) + " " + pad20(lines_) + "\n";
  return io::pwrite_all(fd_.get(), jz, static_cast<off_t>(z_offset_ - 4));
}

}  // namespace common::spool
