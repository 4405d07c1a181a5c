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
  if (kind == NoticeKind::kDelivered) return "2.0.0";
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
  bool delivered = in.kind == NoticeKind::kDelivered;
  auto relayed = [&](std::size_t i) { return i < in.relayed.size() && in.relayed[i]; };
  std::string boundary = in.new_id + "/" + in.hostname;
  std::string out;
  out += "Date: " + rfc5322_date(in.now) + "\n";
  out += "From: Mail Delivery System <MAILER-DAEMON@" + in.hostname + ">\n";
  out += "To: <" + in.to + ">\n";
  out += failed      ? "Subject: Undelivered Mail Returned to Sender\n"
         : delivered ? "Subject: Successful Mail Delivery Report\n"
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
  } else if (delivered) {
    out +=
        "Your message was successfully delivered to the destination(s)\n"
        "listed below, as you asked. If it was relayed to a system that does\n"
        "not send such reports, this is the last you will hear of it.\n\n";
  } else {
    out +=
        "Your message could not be delivered yet to one or more recipients.\n"
        "It will be retried until " +
        rfc5322_date(in.expires) + "; you do not need to resend it.\n\n";
  }
  for (std::size_t i = 0; i < in.rcpts.size(); ++i) {
    const Rcpt* r = in.rcpts[i];
    if (delivered)
      out += "<" + r->address + ">: " + (relayed(i) ? "relayed onwards" : "delivered to mailbox") + "\n";
    else
      out += "<" + r->address + ">: " + one_line(r->text) + "\n";
  }
  out += "\n";

  out += "--" + boundary + "\n";
  out += "Content-Description: Delivery report\n";
  out += "Content-Type: message/delivery-status\n\n";
  // RFC 3464 2.2.1: the sender's ENVID (RFC 3461 4.4), as given.
  if (!in.envid.empty()) out += "Original-Envelope-Id: " + one_line(in.envid) + "\n";
  out += "Reporting-MTA: dns; " + in.hostname + "\n";
  out += "X-Mailbag-Queue-ID: " + m.id + "\n";
  if (!m.sender.empty()) out += "X-Mailbag-Sender: rfc822; " + m.sender + "\n";
  out += "Arrival-Date: " + rfc5322_date(m.arrival) + "\n";
  for (std::size_t i = 0; i < in.rcpts.size(); ++i) {
    const Rcpt* r = in.rcpts[i];
    out += "\n";
    // RFC 3464 2.3.1: the ORCPT (RFC 3461 4.2) as "type; address".
    if (i < in.orcpts.size() && !in.orcpts[i].empty()) {
      const std::string& o = in.orcpts[i];
      auto semi = o.find(';');
      out +=
          "Original-Recipient: " + one_line(o.substr(0, semi)) + "; " + one_line(o.substr(semi + 1)) + "\n";
    }
    out += "Final-Recipient: rfc822; " + r->address + "\n";
    out += failed      ? "Action: failed\n"
           : delivered ? (relayed(i) ? "Action: relayed\n" : "Action: delivered\n")
                       : "Action: delayed\n";
    out += "Status: " + status_of(*r, in.kind) + "\n";
    if (!delivered) out += "Diagnostic-Code: " + diagnostic(r->text) + "\n";
    if (!failed && !delivered) out += "Will-Retry-Until: " + rfc5322_date(in.expires) + "\n";
  }
  out += "\n";

  out += "--" + boundary + "\n";
  // RFC 3461 4.3: RET=FULL returns the whole message, RET=HDRS (and, here, no RET)
  // its headers.
  const std::string& returned = in.full ? in.original : in.original_headers;
  if (in.full) {
    out +=
        delivered ? "Content-Description: Delivered Message\n" : "Content-Description: Undelivered Message\n";
    out += "Content-Type: message/rfc822\n\n";
  } else {
    out += delivered ? "Content-Description: Delivered Message Headers\n"
                     : "Content-Description: Undelivered Message Headers\n";
    out += "Content-Type: text/rfc822-headers\n\n";
  }
  out += returned;
  if (!returned.empty() && returned.back() != '\n') out += "\n";
  out += "\n--" + boundary + "--\n";
  return out;
}

}  // namespace qmgr
