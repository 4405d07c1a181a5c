// The failing wake-up notice (see wakeup_notice.hpp).
#include "delivery/remote/wakeup_notice.hpp"

#include <unistd.h>

namespace delivery::remote {

WakeupHealth::Notice WakeupHealth::record(bool ok) {
  if (ok) {
    last_run_ = failures_;
    failures_ = 0;
    if (!notified_) return Notice::kNone;
    notified_ = false;
    return Notice::kRecovered;
  }
  ++failures_;
  if (threshold_ <= 0 || notified_ || failures_ < threshold_) return Notice::kNone;
  notified_ = true;
  return Notice::kFailing;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string wakeup_notice(const WakeupNoticeFacts& f, WakeupHealth::Notice kind, std::time_t now) {
  char date[64];
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  bool failing = kind == WakeupHealth::Notice::kFailing;
  std::string what =
      f.wakeup_email.empty() ? "ETRN for " + join(f.domains) : "the wake-up message to " + f.wakeup_email;
  std::string m;
  m += "From: Mail System <MAILER-DAEMON@" + f.hostname + ">\n";
  m += "To: <" + f.postmaster + ">\n";
  m += "Subject: " +
       std::string(failing ? "wake-up at " + f.host + " failing" : "wake-up at " + f.host + " works again") +
       "\n";
  m += std::string("Date: ") + date + "\n";
  m += "Message-ID: <wakeup-notice." + std::to_string(now) + "." + std::to_string(::getpid()) + "@" +
       f.hostname + ">\n";
  m += "Auto-Submitted: auto-generated\n";  // RFC 3834 5
  m += "MIME-Version: 1.0\n";
  m += "Content-Type: text/plain; charset=utf-8\n";
  m += "\n";
  if (!failing) {
    m += "The wake-up at " + f.host + " (" + what + ") works again, after " + std::to_string(f.failures) +
         " failed attempts in a row.\nThe mail held there for us is on its way.\n";
    return m;
  }
  m += "This server (" + f.hostname + ") asks " + f.host + " to send the mail it holds for us\n";
  m += "(" + what + "), and the last " + std::to_string(f.failures) + " attempts in a row failed.\n";
  m += "The last one: " + f.problem + "\n\n";
  m += "Until a wake-up works, that mail waits at " + f.host + " for its own next retry.\n\n";
  m += "What to check:\n";
  m += "- Is the link up, and does " + f.host + " answer? `mailctl etrn HOST DOMAIN` shows its answer;\n";
  m += "  `mailctl wakeup` runs every configured wake-up now.\n";
  m += "- A refusal (a 4xx or 5xx reply): " + f.host + " must hold mail for these domains and let this\n";
  m += "  server's address release it. Ask the provider; on a Mailbag backup that is relay_domains\n";
  m += "  and etrn_networks or relay_domain_settings release=.\n";
  m += "- etrn_hosts, etrn_domains and wakeup_email in mailbag.conf; after a change:\n";
  m += "  systemctl reload mailbag-remote.\n\n";
  m += "You get one more message when a wake-up there works again (wakeup_failure_notice in\n";
  m += "mailbag.conf(5) sets how many failures come before this notice).\n";
  return m;
}

}  // namespace delivery::remote
