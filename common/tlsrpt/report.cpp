// Implementation of the aggregate TLS report and its mail (see report.hpp).
#include "common/tlsrpt/report.hpp"

#include <zlib.h>

#include "common/mail/base64.hpp"
#include "common/mail/date.hpp"
#include "common/tlsrpt/json.hpp"

namespace common::tlsrpt {

std::string report_id(const ReportInfo& info, const std::string& policy_domain) {
  return info.day + "." + info.unique + "." + policy_domain + "@" + info.submitter;
}

std::string report_json(const ReportInfo& info, const std::string& policy_domain,
                        const std::map<Policy, PolicyCounts>& policies) {
  JsonWriter w;
  w.begin_object();
  w.member("organization-name", info.organization);
  w.key("date-range");
  w.begin_object();
  w.member("start-datetime", info.day + "T00:00:00Z");
  w.member("end-datetime", info.day + "T23:59:59Z");
  w.end_object();
  w.member("contact-info", info.contact);
  w.member("report-id", report_id(info, policy_domain));
  w.key("policies");
  w.begin_array();
  for (const auto& [policy, counts] : policies) {
    w.begin_object();
    w.key("policy");
    w.begin_object();
    w.member("policy-type", policy_type_name(policy.type));
    if (!policy.strings.empty()) w.member("policy-string", policy.strings);
    w.member("policy-domain", policy.domain);
    if (!policy.mx.empty()) w.member("mx-host", policy.mx);
    w.end_object();
    w.key("summary");
    w.begin_object();
    w.member("total-successful-session-count", counts.successes);
    w.member("total-failure-session-count", counts.failures);
    w.end_object();
    if (!counts.details.empty()) {
      w.key("failure-details");
      w.begin_array();
      for (const auto& [k, n] : counts.details) {
        w.begin_object();
        w.member("result-type", k.result);
        if (!info.sending_ip.empty()) w.member("sending-mta-ip", info.sending_ip);
        if (!k.mx.empty()) w.member("receiving-mx-hostname", k.mx);
        if (!k.ip.empty()) w.member("receiving-ip", k.ip);
        w.member("failed-session-count", n);
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

Result<std::string> gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's (RFC 1952).
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Status::error("deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  std::size_t used = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::error("deflate failed");
  out.resize(used);
  return out;
}

std::string report_message(const ReportInfo& info, const std::string& policy_domain,
                           const std::vector<std::string>& to, std::string_view gz) {
  std::string id = report_id(info, policy_domain);
  std::int64_t begin = day_start(info.day);
  std::string file = info.submitter + "!" + policy_domain + "!" + std::to_string(begin) + "!" +
                     std::to_string(begin + 86399) + "!" + info.unique + ".json.gz";
  std::string boundary = "=_tlsrpt_" + info.unique;
  std::string m;
  m += "From: " + info.contact + "\r\n";
  std::string rcpts;
  for (const auto& t : to) rcpts += (rcpts.empty() ? "" : ", ") + t;
  m += "To: " + rcpts + "\r\n";
  m += "Subject: Report Domain: " + policy_domain + " Submitter: " + info.submitter + " Report-ID: <" + id +
       ">\r\n";
  m += "Date: " + common::mail::rfc5322_date(info.now) + "\r\n";
  m += "Message-ID: <tlsrpt." + info.day + "." + info.unique + "@" + info.hostname + ">\r\n";
  m += "TLS-Report-Domain: " + policy_domain + "\r\n";
  m += "TLS-Report-Submitter: " + info.submitter + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "This is a multi-part message in MIME format.\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is an aggregate TLS report (RFC 8460) from " + info.submitter + " for " + policy_domain +
       ",\r\nfor " + info.day + " (UTC). The report is attached.\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/tlsrpt+gzip\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Content-Disposition: attachment;\r\n\tfilename=\"" + file + "\"\r\n\r\n";
  std::string b64 = common::mail::encode_base64(gz);
  for (std::size_t i = 0; i < b64.size(); i += 76) m += b64.substr(i, 76) + "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace common::tlsrpt
