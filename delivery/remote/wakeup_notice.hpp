// The postmaster's notice about failing wake-ups of the site side (etrn.hpp): after
// wakeup_failure_notice wake-ups in a row at one of etrn_hosts failed (nothing answered,
// the ETRN or the wake-up message was refused, the session broke off), one mail says what
// failed and how to fix it; when a wake-up there works again, one more says so. Never one
// per failure. Pure: the counting and the text; etrn.cpp sends it to our own smtpd.
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace delivery::remote {

class WakeupHealth {
 public:
  enum class Notice { kNone, kFailing, kRecovered };

  // `threshold`: failures in a row before the notice; 0: never a notice.
  explicit WakeupHealth(int threshold = 3) : threshold_(threshold) {}
  void set_threshold(int t) { threshold_ = t; }

  // One wake-up's result; says which notice (if any) is now due.
  Notice record(bool ok);
  int failures() const { return failures_; }       // in a row, up to now
  int failed_before() const { return last_run_; }  // the run a recovery ends

 private:
  int threshold_;
  int failures_ = 0;
  int last_run_ = 0;
  bool notified_ = false;
};

struct WakeupNoticeFacts {
  std::string hostname;              // ours
  std::string postmaster;            // the recipient
  std::string host;                  // the etrn_hosts entry, as configured
  std::vector<std::string> domains;  // etrn_domains ("" when a wake-up message is used)
  std::string wakeup_email;          // wakeup_email, "" for ETRN
  int failures = 0;                  // in a row
  std::string problem;               // the last failure, as logged
};

// The notice as a message with LF line ends (RFC 5322; Auto-Submitted, RFC 3834 5).
std::string wakeup_notice(const WakeupNoticeFacts& f, WakeupHealth::Notice kind, std::time_t now);

}  // namespace delivery::remote
