// What smtpd makes of the checks process's verdicts (smtpd/checks/, mailbag-ipc(7)
// Check/CheckDone), pure: the SMTP reply at MAIL (DNS lists, SPF) and after DATA
// (DMARC), temperrors per checks_temperror, the junk mark of a DMARC quarantine, and
// the results that go into our Authentication-Results header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/checks/authres.hpp"
#include "common/ipc/messages.hpp"
#include "smtpd/reply.hpp"

namespace smtpd {

// From mailbag.conf, for the MX port only (submission never asks).
struct ChecksConfig {
  bool dnsbl = false;  // dnsbl_zones or dnswl_zones: asked at connect
  bool spf = false;    // spf_check (or dmarc_check, which needs it): asked at MAIL
  bool data = false;   // dkim_check or dmarc_check: asked after DATA
  bool spf_reject_fail = false;
  bool dmarc_reject = true;
  bool dmarc_quarantine = true;
  bool temperror_defer = false;
  std::string authserv_id;
  bool any() const { return dnsbl || spf || data; }
};

// The reply to MAIL, if the verdicts refuse it. `client_ip` names the client in the
// DNS list reply.
std::optional<Reply> mail_check_reply(const common::ipc::CheckDone& v, const ChecksConfig& c,
                                      const std::string& client_ip);
// The reply after DATA, if the verdicts refuse the message.
std::optional<Reply> data_check_reply(const common::ipc::CheckDone& v, const ChecksConfig& c);
// DMARC says quarantine and dmarc_quarantine is on: deliver to the Junk folder.
bool junk(const common::ipc::CheckDone& v, const ChecksConfig& c);

// What the Connection hands the session when the checks process did not answer in
// time (or is down): a temperror for every check that was asked.
common::ipc::CheckDone unanswered(common::ipc::CheckStage stage, const ChecksConfig& c);

// One log line's worth for a result: "spf=pass smtp.mailfrom=a@b (comment)".
std::string describe(const common::checks::ResInfo& r);

}  // namespace smtpd
