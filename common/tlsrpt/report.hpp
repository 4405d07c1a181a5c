// The aggregate TLS report (RFC 8460 4) of one policy domain for one day, and the mail
// that carries it (RFC 8460 5.3). Pure but for zlib; tested in report_test.cpp.
//   RFC 8460 4.4: the JSON: organization-name, date-range (the whole UTC day),
//   contact-info, report-id, and per policy its type, strings, domain, mx-host, the
//   summary counts and the failure details (result-type, sending-mta-ip,
//   receiving-mx-hostname, receiving-ip, failed-session-count).
//   RFC 8460 5.1: the file name "submitter!policy-domain!begin!end!id.json.gz".
//   RFC 8460 5.3: multipart/report; report-type="tlsrpt", a text part, and the gzip'd
//   JSON as application/tlsrpt+gzip; the TLS-Report-Domain and TLS-Report-Submitter
//   header fields; the Subject "Report Domain: ... Submitter: ... Report-ID: <...>".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/tlsrpt/record.hpp"

namespace common::tlsrpt {

struct ReportInfo {
  std::string organization;  // organization-name
  std::string contact;       // contact-info: the address that sends the reports
  std::string submitter;     // the reporting domain (TLS-Report-Submitter, the file name)
  std::string hostname;      // for the Message-ID
  std::string day;           // YYYY-MM-DD, UTC
  std::string sending_ip;    // sending-mta-ip ("" if unknown: left out)
  std::int64_t now = 0;      // the Date: field
  std::string unique;        // makes the report-id unique (a queue id)
};

// The report-id: "<day>.<unique>@<submitter>"
std::string report_id(const ReportInfo& info, const std::string& policy_domain);

std::string report_json(const ReportInfo& info, const std::string& policy_domain,
                        const std::map<Policy, PolicyCounts>& policies);

// gzip (RFC 1952) of `data`.
Result<std::string> gzip(std::string_view data);

// The whole message (CRLF line ends), addressed to `to`, with `gz` attached.
std::string report_message(const ReportInfo& info, const std::string& policy_domain,
                           const std::vector<std::string>& to, std::string_view gz);

}  // namespace common::tlsrpt
