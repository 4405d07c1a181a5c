// Received header and RFC 5322 date (see received.hpp).
#include "smtpd/received.hpp"

#include <ctime>

namespace smtpd {

std::string rfc5322_date(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  // Names by hand: strftime's %a/%b follow the locale, RFC 5322 3.3 wants English.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  long off = tm.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
                kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
  return buf;
}

std::string header_safe_name(std::string_view name, bool utf8) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    bool ok = (c > 0x20 && c < 0x7f) || (utf8 && c >= 0x80);
    switch (c) {
      case '(': case ')': case ';': case '\\': case '"': case '<': case '>':
        ok = false;
        break;
      default:
        break;
    }
    out.push_back(ok ? static_cast<char>(c) : '?');
  }
  if (out.empty()) out = "unknown";
  return out;
}

std::string received_header(const ReceivedInfo& r) {
  // RFC 5321 4.4: Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time; a
  // comment may precede each clause, so the TLS note sits between "id" and "for".
  std::string h = "Received: from " + r.helo + " (" + r.client_literal + ")\n";
  h += "\tby " + r.hostname + " (Mailbag) with " + r.protocol + " id " + r.queue_id;
  if (!r.tls.empty()) h += "\n\t(using " + r.tls + ")";
  if (!r.for_rcpt.empty()) h += "\n\tfor <" + r.for_rcpt + ">";
  h += "; " + rfc5322_date(r.time) + "\n";
  return h;
}

}  // namespace smtpd
