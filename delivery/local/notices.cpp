// Messages the local agent composes (see notices.hpp).
#include "delivery/local/notices.hpp"

#include <cstdio>

#include "common/mail/base64.hpp"
#include "common/mail/date.hpp"

namespace delivery::local {
namespace {

bool ascii_printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

// Length of the UTF-8 sequence starting with `c` (1 for anything unexpected).
std::size_t utf8_len(unsigned char c) {
  if (c >= 0xF0 && c <= 0xF4) return 4;
  if (c >= 0xE0) return 3;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  return 1;
}

// Subject text without line breaks or other controls, at most `max` octets, never cut
// inside a UTF-8 sequence.
std::string clean(std::string_view s, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : utf8_len(c);
    if (i + n > s.size()) break;
    if (out.size() + n > max) break;
    if (c < 0x20 || c == 0x7f)
      out.push_back(' ');
    else
      out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

std::string header_text(std::string_view text) {
  std::string t = clean(text, 900);
  if (ascii_printable(t)) return t;
  // RFC 2047 2: an encoded-word is at most 75 characters; 45 octets make 60 base64
  // characters plus the 12 of "=?UTF-8?B?" and "?=". Words are cut between UTF-8
  // sequences (RFC 2047 5 (3)) and folded onto continuation lines.
  std::string out;
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t j = i;
    while (j < t.size()) {
      std::size_t n = utf8_len(static_cast<unsigned char>(t[j]));
      if (j + n - i > 45) break;
      j += n;
    }
    if (j == i) j = std::min(t.size(), i + 1);
    if (!out.empty()) out += "\n ";
    out += "=?UTF-8?B?" + common::mail::encode_base64(std::string_view(t).substr(i, j - i)) + "?=";
    i = j;
  }
  return out;
}

std::string normalize_body(std::string_view text) {
  std::string out;
  std::size_t col = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') continue;
      c = '\n';
    }
    if (c == '\n') {
      out.push_back('\n');
      col = 0;
      continue;
    }
    if (col == 998) {
      out.push_back('\n');
      col = 0;
    }
    out.push_back(c);
    ++col;
  }
  if (out.empty() || out.back() != '\n') out.push_back('\n');
  return out;
}

std::string human_size(std::int64_t bytes) {
  char buf[64];
  if (bytes >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.0f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  return buf;
}

std::string compose_reply(const ReplyInput& in) {
  const Headers& h = *in.original;
  std::string subject = in.subject;
  if (subject.empty()) {
    std::string orig = clean(h.first("subject"), 200);
    subject = "Auto: " + (orig.empty() ? std::string("(no subject)") : orig);
  }
  std::string out;
  out += "From: <" + in.from + ">\n";
  out += "To: <" + in.to + ">\n";
  out += "Subject: " + header_text(subject) + "\n";
  out += "Date: " + common::mail::rfc5322_date(in.now) + "\n";
  out += "Message-ID: <" + in.new_id + ".autoreply@" + in.hostname + ">\n";
  // RFC 3834 3.1.5, 3.1.6 (RFC 5322 3.6.4): In-Reply-To the subject message's id,
  // References its References (or In-Reply-To) followed by its id.
  std::string id = first_msg_id(h.first("message-id"));
  std::vector<std::string> refs = msg_ids(h.first("references"));
  if (refs.empty()) refs = msg_ids(h.first("in-reply-to"));
  if (!id.empty()) {
    out += "In-Reply-To: " + id + "\n";
    refs.push_back(id);
  }
  if (refs.size() > 20) refs.erase(refs.begin() + 1, refs.end() - 19);  // keep the first and the last
  if (!refs.empty()) {
    std::string line = "References:";
    bool first = true;
    for (const auto& r : refs) {
      if (r.size() >= 900) continue;
      out += line + (first ? " " : "\n ") + r;
      line.clear();
      first = false;
    }
    if (!first) out += "\n";
  }
  out += "Auto-Submitted: auto-replied\n";  // RFC 3834 5
  out += "MIME-Version: 1.0\n";
  out += "Content-Type: text/plain; charset=utf-8\n";
  out += std::string("Content-Transfer-Encoding: ") + (has_8bit(in.text) ? "8bit" : "7bit") + "\n";
  out += "\n";
  out += normalize_body(in.text);
  return out;
}

std::string compose_quota_warning(const QuotaWarningInput& in) {
  long long pct = in.quota > 0 ? static_cast<long long>(in.used * 100 / in.quota) : 0;
  std::string out;
  out += "From: Mail Delivery System <MAILER-DAEMON@" + in.hostname + ">\n";
  out += "To: <" + in.user + ">\n";
  out += "Subject: Your mailbox is " + std::to_string(pct) + "% full\n";
  out += "Date: " + common::mail::rfc5322_date(in.now) + "\n";
  out += "Message-ID: <" + in.new_id + ".quota@" + in.hostname + ">\n";
  out += "Auto-Submitted: auto-generated\n";  // RFC 3834 5: nobody answers it
  out += "MIME-Version: 1.0\n";
  out += "Content-Type: text/plain; charset=us-ascii\n";
  out += "\n";
  out += "Your mailbox " + in.user + " now holds " + human_size(in.used) + " of its " + human_size(in.quota) +
         " (" + std::to_string(pct) + "%).\n\n";
  out +=
      "When it is full, new mail for you is held back and, if you do not make room\n"
      "in time, returned to its senders. Please delete mail you no longer need\n"
      "(the deleted folder counts too).\n\n"
      "This is the only warning until the mailbox falls below " +
      std::to_string(in.percent) + "% again.\n";
  return out;
}

std::string forward_trace(std::string_view hostname, std::string_view new_id,
                          const std::vector<std::string>& recipients,
                          const std::vector<std::string>& delivered_to, std::int64_t now) {
  // RFC 5321 4.4: a trace line for each hop; the "for" clause only when it names the one
  // recipient (it would otherwise disclose the others).
  std::string out = "Received: by " + std::string(hostname) + " (Mailbag local) id " + std::string(new_id);
  if (recipients.size() == 1) out += "\n\tfor <" + recipients.front() + ">";
  out += "; " + common::mail::rfc5322_date(now) + "\n";
  for (const auto& d : delivered_to) out += "Delivered-To: " + d + "\n";
  return out;
}

}  // namespace delivery::local
