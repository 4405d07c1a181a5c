// The data-stage checks of the checks process: DKIM verification (RFC 6376, RFC 8463)
// with libopendkim, its keys fetched through our Dns, and DMARC (RFC 7489): the record
// fetched here (so that SERVFAIL is temperror, not "no record" as libopendmarc 1.4.2
// has it), parsed by libopendmarc, decided by dmarc_policy.hpp. UNTRUSTED: the message
// and every DNS answer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/checks/authres.hpp"
#include "smtpd/checks/dmarc_policy.hpp"
#include "smtpd/checks/dns.hpp"

namespace checks {

// Once per process, before the threads start: libopendkim's and libopendmarc's handles.
common::Status init_message_checks();

struct DkimSig {
  std::string result;  // RFC 8601 2.7.1: pass, fail, neutral, temperror, permerror
  std::string domain, selector, algorithm;
  std::string comment;
};

// Every signature of the message in `fd` (size bytes at offset); empty: none, unless
// *error says why nothing could be read.
std::vector<DkimSig> verify_dkim(Dns& dns, int fd, std::uint64_t offset, std::uint64_t size,
                                 const std::string& queue_id, std::string* error);

struct DmarcVerdict {
  std::string result;  // pass, fail, none, temperror, permerror
  std::string from_domain;
  std::string comment;
  DmarcPolicy applied = DmarcPolicy::kNone;
};

// `spf`: the MAIL FROM result and its domain, from the MAIL stage.
DmarcVerdict check_dmarc(Dns& dns, const PublicSuffixList& psl, const std::string& headers,
                         const std::string& spf_result, const std::string& spf_domain,
                         const std::vector<DkimSig>& dkim);

// The first `limit` bytes of the message in `fd`.
std::string read_head(int fd, std::uint64_t offset, std::uint64_t size, std::size_t limit);

}  // namespace checks
