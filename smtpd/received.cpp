// Received header and RFC 5322 date (see received.hpp).
#include "smtpd/received.hpp"

#include "common/mail/date.hpp"

namespace smtpd {

std::string rfc5322_date(std::int64_t t) { return common::mail::rfc5322_date(t); }

std::string header_safe_name(std::string_view name, bool utf8) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    bool ok = (c > 0x20 && c < 0x7f) || (utf8 && c >= 0x80);
    switch (c) {
      case '(':
      case ')':
      case ';':
      case '\\':
      case '"':
      case '<':
      case '>': ok = false; break;
      default: break;
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
