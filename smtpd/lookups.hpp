// The accounts lookups of one MAIL, RCPT or ATRN command, as a request and its answer, so that
// the session stays pure: it fills in a LookupRequest, and answer_lookup() makes the
// lookups through the Directory and the relay database. The Backend answers at once
// when its database answers in microseconds (LMDB: Backend::lookup_now); otherwise the
// session waits (Output::lookup) while the Server runs answer_lookup() on its database
// thread (common/pg/db_queue.hpp) and hands the answer back (Session::lookup_done), and
// the session's other commands and every other session go on meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/accounts/records.hpp"
#include "common/mail/address.hpp"
#include "common/result.hpp"
#include "smtpd/commands.hpp"
#include "smtpd/policy.hpp"
#include "smtpd/reply.hpp"

namespace smtpd {

struct LookupRequest {
  enum class Kind { kMail, kRcpt, kAtrn };
  Kind kind = Kind::kRcpt;
  SessionFacts facts;  // as the session knows them when it asks
  // kMail: check_sender's inputs; ask the relay database first (POP-before-SMTP), and
  // read the administrator's filtering rules.
  MailArgs mail;
  SenderRules rules;
  bool ask_relay_db = false;
  bool read_filter_rules = false;
  // kRcpt: check_recipient's and check_domain_limits's inputs.
  common::mail::Address rcpt;
  std::vector<common::mail::Address> earlier;
  std::optional<std::uint64_t> declared_size;
  std::vector<std::string> relay_domains;
  // kAtrn (the ODMR port): the domains the login (facts.auth_user) asked for, "" for its
  // own; the answer has the domains it was granted.
  std::vector<std::string> atrn_domains;
};

struct LookupAnswer {
  // ask_relay_db: the relay database's answer, or relay_db_failed when it could not
  // tell (refusals that depend on it are then 451 4.3.0, never 5xx).
  std::optional<bool> relay_db;
  bool relay_db_failed = false;
  // kMail: check_sender's reply; kRcpt: check_recipient's, then the domain limits'.
  Reply reply;
  // read_filter_rules: the rules, or why they could not be read.
  std::optional<common::Result<std::vector<common::accounts::FilterRule>>> filter_rules;
  // kAtrn: the domains granted to the login, or why they could not be read.
  std::optional<common::Result<std::vector<std::string>>> atrn_granted;
};

// POP-before-SMTP: may `ip` relay now? An error: the relay database cannot tell.
using RelayCheck = std::function<common::Result<bool>(const std::string& ip)>;

// Makes the lookups of `q`, on whichever thread `dir` and `relay` belong to.
LookupAnswer answer_lookup(const LookupRequest& q, Directory& dir, const RelayCheck& relay);
// The answer when the lookups could not be made at all (too many waiting): a temporary
// failure for everything asked, 451 4.3.0.
LookupAnswer lookup_unavailable(const LookupRequest& q, const std::string& why);

}  // namespace smtpd
