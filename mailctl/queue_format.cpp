// Implementation of the queue listing and message display texts (see queue_format.hpp).
// UNTRUSTED: senders, recipients, header lines and failure texts come from clients and
// remote servers; all of it goes through terminal_safe() before it is printed.
#include "mailctl/queue_format.hpp"

#include <cstdio>
#include <ctime>

namespace mailctl {

namespace ipc = common::ipc;

namespace {

// Columns of the listing: id with its marker, size, arrival, then sender/recipients.
constexpr int kIdWidth = 17;
constexpr int kSizeWidth = 8;
constexpr int kRcptIndent = kIdWidth + 1 + kSizeWidth + 1 + 19 + 2;
constexpr std::size_t kReasonWidth = 78;

// QueueRcptInfo::state on the wire (common/ipc/messages.hpp).
enum RcptState : std::uint8_t { kPending = 0, kInFlight = 1, kDone = 2, kFailed = 3 };

std::string mailq_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S", &tm);
  return buf;
}

std::string sender_text(const std::string& sender) {
  return sender.empty() ? "MAILER-DAEMON" : terminal_safe(sender);
}

// Length of the valid UTF-8 sequence at s[i] that is not a C1 control, or 0.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xbf) return 0;
  if (c == 0xc2 && b(1) < 0xa0) return 0;  // U+0080..U+009F: C1 controls
  if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
  if (c == 0xed && b(1) > 0x9f) return 0;  // UTF-16 surrogates
  if (c == 0xf0 && b(1) < 0x90) return 0;  // overlong
  if (c == 0xf4 && b(1) > 0x8f) return 0;  // past U+10FFFF
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const char* rcpt_state_name(const ipc::QueueRcptInfo& r) {
  switch (r.state) {
    case kPending: return r.text.empty() ? "waiting" : "deferred";
    case kInFlight: return "in delivery";
    case kDone: return "delivered";
    case kFailed: return "failed";
  }
  return "unknown";
}

// The queue manager cuts a message with very many recipients to what fits in one frame.
std::string omitted_text(std::uint32_t n) {
  return "... and " + std::to_string(n) + " more recipients not listed";
}

}  // namespace

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (std::size_t n = utf8_len(text, i)) {
        out.append(text.substr(i, n));
        i += n;
        continue;
      }
    } else if ((c >= 0x20 && c != 0x7f && c != '\\') || c == '\t') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
    ++i;
  }
  return out;
}

std::vector<std::string> wrap(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string cur;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t sp = text.find(' ', pos);
    std::string_view word =
        text.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    pos = sp == std::string_view::npos ? text.size() : sp + 1;
    if (word.empty()) continue;
    if (!cur.empty() && cur.size() + 1 + word.size() > width) {
      lines.push_back(std::move(cur));
      cur.clear();
    }
    if (!cur.empty()) cur += ' ';
    cur += word;
  }
  if (!cur.empty() || lines.empty()) lines.push_back(std::move(cur));
  return lines;
}

std::string format_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string format_span(std::int64_t s) {
  if (s <= 0) return "now";
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
}

std::string MailqWriter::add(const ipc::QueueEntry& e) {
  char buf[160];
  std::string out;
  if (count_++ == 0) {
    std::snprintf(buf, sizeof buf, "%-*s %*s %-19s  %s\n", kIdWidth, "-Queue ID--------", kSizeWidth,
                  "--Size--", "----Arrival Time---", "-Sender/Recipient-------");
    out = buf;
  }
  bool active = false;
  for (const auto& r : e.rcpts) active = active || r.state == kInFlight;
  std::string id = terminal_safe(e.id) + (e.hold ? "!" : active ? "*" : "");
  std::snprintf(buf, sizeof buf, "%-*s %*llu %-19s  ", kIdWidth, id.c_str(), kSizeWidth,
                static_cast<unsigned long long>(e.size), mailq_time(e.arrival).c_str());
  out += buf + sender_text(e.sender) + "\n";
  // Undelivered recipients, each run with the same last failure under that text once.
  const std::string* last_text = nullptr;
  for (const auto& r : e.rcpts) {
    if (r.state != kPending && r.state != kInFlight) continue;
    if (!r.text.empty() && (!last_text || *last_text != r.text)) {
      for (const auto& l : wrap("(" + terminal_safe(trim(r.text)) + ")", kReasonWidth)) out += l + "\n";
    }
    last_text = &r.text;
    out += std::string(kRcptIndent, ' ') + terminal_safe(r.address) + "\n";
  }
  if (e.rcpts_omitted > 0) out += std::string(kRcptIndent, ' ') + omitted_text(e.rcpts_omitted) + "\n";
  out += "\n";
  if (__builtin_add_overflow(total_, e.size, &total_)) total_ = UINT64_MAX;
  return out;
}

std::string MailqWriter::end() const {
  if (count_ == 0) return "Mail queue is empty\n";
  char buf[160];
  std::uint64_t kbytes = total_ / 1024 + (total_ % 1024 != 0);
  std::snprintf(buf, sizeof buf, "-- %llu Kbytes in %zu Request%s.\n",
                static_cast<unsigned long long>(kbytes), count_, count_ == 1 ? "" : "s");
  return buf;
}

std::string format_mailq(const std::vector<ipc::QueueEntry>& entries) {
  MailqWriter w;
  std::string out;
  for (const auto& e : entries) out += w.add(e);
  return out + w.end();
}

std::string_view header_block(std::string_view message, bool* complete) {
  *complete = true;
  if (message.empty() || message[0] == '\n') return message.substr(0, 0);
  std::size_t end = message.find("\n\n");
  if (end != std::string_view::npos) return message.substr(0, end + 1);
  *complete = false;
  return message;
}

std::string format_show(const ShowInput& in) {
  std::string out;
  auto line = [&](const char* k, const std::string& v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%-12s ", k);
    out += v.empty() ? std::string(k) + "\n" : buf + v + "\n";
  };
  const auto& env = in.env;
  line("queue id", terminal_safe(env.queue_id));
  line("arrival", format_time(env.arrival) + " (" + format_span(in.now - env.arrival) + " ago)");
  line("size", std::to_string(env.data_size) + " bytes, " + std::to_string(env.data_lines) + " lines, " +
                   (env.body_8bit ? "8BITMIME" : "7BIT") + (env.smtputf8 ? ", SMTPUTF8" : ""));
  line("protocol",
       terminal_safe(env.protocol) + (env.client.empty() ? "" : " from " + terminal_safe(env.client)));
  if (!env.auth_user.empty()) line("auth user", terminal_safe(env.auth_user));
  line("sender", env.sender.empty() ? "<> (null sender)" : "<" + terminal_safe(env.sender) + ">");
  if (!in.state) {
    line("state", "unknown: " + in.no_state);
    line("recipients", "");
    for (const auto& r : env.recipients) out += "  <" + terminal_safe(r) + ">\n";
  } else {
    const auto& e = *in.state;
    bool active = false;
    for (const auto& r : e.rcpts) active = active || r.state == kInFlight;
    std::string held = env.hold_reason.empty()
                           ? "on hold (not delivered until released)"
                           : "on hold: quarantined by a mail filter: " + terminal_safe(env.hold_reason) +
                                 " (not delivered until released)";
    std::string state = e.hold                ? held
                        : active              ? "being delivered"
                        : e.next_try > in.now ? "deferred, next attempt " + format_time(e.next_try) +
                                                    " (in " + format_span(e.next_try - in.now) + ")"
                                              : "waiting for delivery";
    line("state", state);
    line("attempts", std::to_string(e.attempts));
    line("recipients", "");
    for (const auto& r : e.rcpts) {
      out += "  <" + terminal_safe(r.address) + ">  " + rcpt_state_name(r);
      if (!r.status.empty() || !r.text.empty())
        out += "  " + terminal_safe(r.status) + (r.status.empty() ? "" : " ") + terminal_safe(r.text);
      out += "\n";
    }
    if (e.rcpts_omitted > 0) out += "  " + omitted_text(e.rcpts_omitted) + "\n";
  }
  out += "header\n";
  std::size_t pos = 0;
  while (pos < in.header.size()) {
    std::size_t nl = in.header.find('\n', pos);
    if (nl == std::string::npos) nl = in.header.size();
    out += "  " + terminal_safe(std::string_view(in.header).substr(pos, nl - pos)) + "\n";
    pos = nl + 1;
  }
  if (in.header_cut) out += "  [...]\n";
  return out;
}

}  // namespace mailctl
