// Composition of delivery status notifications (see bounce.hpp). RFC 3464 section 2
// gives the fields; RFC 3461 4.2/5.2 the "rfc822;" address types; RFC 3834 5 the
// Auto-Submitted field that keeps auto-responders from answering a bounce.
#include "queue-manager/bounce.hpp"

#include <cctype>
#include <ctime>

namespace qmgr {
namespace {

// Diagnostics may quote a remote server: one line, no control characters, bounded.
std::string one_line(const std::string& text) {
  std::string t = text.empty() ? "unknown error" : text;
  for (char& c : t)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (t.size() > 900) t.resize(900);
  return t;
}

// Diagnostic-Code type: "smtp" when the text is a remote server's reply, else ours.
std::string diagnostic(const std::string& text) {
  bool smtp = text.size() >= 4 && (text[0] == '4' || text[0] == '5') &&
              std::isdigit(static_cast<unsigned char>(text[1])) &&
              std::isdigit(static_cast<unsigned char>(text[2])) && (text[3] == ' ' || text[3] == '-');
  return (smtp ? "smtp; " : "X-Mailbag; ") + one_line(text);
}

std::string status_of(const Rcpt& r, NoticeKind kind) {
  std::string s = r.status;
  bool ok = s.size() >= 5 && (s[0] == '4' || s[0] == '5') && s[1] == '.';
  if (!ok) s = kind == NoticeKind::kDelayed ? "4.0.0" : "5.0.0";
  return s;
}

}  // namespace

std::string rfc5322_date(std::int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string header_block(const std::string& message, std::size_t max) {
  std::size_t end = message.find("\n\n");
  end = end == std::string::npos ? message.size() : end + 1;
  if (end > max) {
    end = message.rfind('\n', max);
    end = end == std::string::npos ? 0 : end + 1;
  }
  return message.substr(0, end);
}

std::string compose_notice(const NoticeInput& in) {
  const Message& m = *in.msg;
  bool failed = in.kind == NoticeKind::kFailed;
  std::string boundary = in.new_id + "/" + in.hostname;
  std::string out;
  out += "Date: " + rfc5322_date(in.now) + "\n";
  out += "From: Mail Delivery System <MAILER-DAEMON@" + in.hostname + ">\n";
  out += "To: <" + in.to + ">\n";
  out += failed ? "Subject: Undelivered Mail Returned to Sender\n"
                : "Subject: Delayed Mail (still being retried)\n";
  out += "Message-ID: <" + in.new_id + ".notice@" + in.hostname + ">\n";
  out += "Auto-Submitted: auto-replied\n";
  out += "MIME-Version: 1.0\n";
  out += "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"" + boundary + "\"\n";
  out += "\nThis is a MIME-encapsulated message.\n\n";

  out += "--" + boundary + "\n";
  out += "Content-Description: Notification\n";
  out += "Content-Type: text/plain; charset=utf-8\n\n";
  out += "This is the mail system at host " + in.hostname + ".\n\n";
  if (failed) {
    out +=
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "For further assistance, please send mail to postmaster.\n\n";
  } else {
    out +=
        "Your message could not be delivered yet to one or more recipients.\n"
        "It will be retried until " +
        rfc5322_date(in.expires) + "; you do not need to resend it.\n\n";
  }
  for (const Rcpt* r : in.rcpts) out += "<" + r->address + ">: " + one_line(r->text) + "\n";
  out += "\n";

  out += "--" + boundary + "\n";
  out += "Content-Description: Delivery report\n";
  out += "Content-Type: message/delivery-status\n\n";
  out += "Reporting-MTA: dns; " + in.hostname + "\n";
  out += "X-Mailbag-Queue-ID: " + m.id + "\n";
  if (!m.sender.empty()) out += "X-Mailbag-Sender: rfc822; " + m.sender + "\n";
  out += "Arrival-Date: " + rfc5322_date(m.arrival) + "\n";
  for (const Rcpt* r : in.rcpts) {
    out += "\n";
    out += "Final-Recipient: rfc822; " + r->address + "\n";
    out += failed ? "Action: failed\n" : "Action: delayed\n";
    out += "Status: " + status_of(*r, in.kind) + "\n";
    out += "Diagnostic-Code: " + diagnostic(r->text) + "\n";
    if (!failed) out += "Will-Retry-Until: " + rfc5322_date(in.expires) + "\n";
  }
  out += "\n";

  out += "--" + boundary + "\n";
  out += "Content-Description: Undelivered Message Headers\n";
  out += "Content-Type: text/rfc822-headers\n\n";
  out += in.original_headers;
  if (!in.original_headers.empty() && in.original_headers.back() != '\n') out += "\n";
  out += "\n--" + boundary + "--\n";
  return out;
}

}  // namespace qmgr
