// check-dns's MTA-STS and TLS reporting part, the judging half: the `_mta-sts` TXT record
// (RFC 8461 3.1), the policy it announces as fetched over HTTPS (RFC 8461 3.2, 3.3) and
// whether it names every MX host (RFC 8461 4.1), and the `_smtp._tls` TXT record
// (RFC 8460 3). Says exactly what to publish when something is missing or wrong. Pure;
// dns_sts_test.cpp. The parsers are the remote agent's own, so check-dns judges a
// policy exactly as outgoing mail would.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/dns/records.hpp"

namespace mailctl {

struct StsDnsCheck {
  common::dns::Lookup txt_status = common::dns::Lookup::kNoData;
  std::string txt_error;
  std::vector<std::string> txt;  // TXT texts at _mta-sts.DOMAIN
  bool fetched = false;          // the policy was asked for
  std::string fetch_error;       // why there is no answer ("" when there is one)
  std::string response;          // the raw HTTPS answer
  common::dns::Lookup rpt_status = common::dns::Lookup::kNoData;
  std::string rpt_error;
  std::vector<std::string> rpt;  // TXT texts at _smtp._tls.DOMAIN
  std::string new_id = "1";      // the id to suggest for a new TXT record (1-32 alphanumerics)
};

struct StsReport {
  std::vector<std::pair<std::string, std::string>> lines;  // key, value
  std::vector<std::string> problems;
  std::vector<std::string> failures;
};

// Whether the policy should be fetched: the TXT record announces one.
bool sts_announced(const StsDnsCheck& c);

// `mx_hosts`: the domain's usable MX host names, in preference order.
StsReport evaluate_sts(const std::string& domain, const StsDnsCheck& c,
                       const std::vector<std::string>& mx_hosts);

// What to publish for a domain without MTA-STS: the TXT record and the policy file.
std::string suggested_sts_txt(const std::string& domain, const std::string& id);
std::string suggested_sts_policy(const std::vector<std::string>& mx_hosts);
std::string suggested_tlsrpt(const std::string& domain);

}  // namespace mailctl
