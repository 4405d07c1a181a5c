// The lookups of MAIL and RCPT (see lookups.hpp). Pure over the Directory and the relay
// check: what the session did inline before, now callable from another thread.
#include "smtpd/lookups.hpp"

#include "common/log/log.hpp"

namespace smtpd {

LookupAnswer answer_lookup(const LookupRequest& q, Directory& dir, const RelayCheck& relay) {
  LookupAnswer a;
  SessionFacts facts = q.facts;
  if (q.kind == LookupRequest::Kind::kMail) {
    if (q.ask_relay_db) {
      auto r = relay(facts.client_ip);
      facts.relay_db_failed = !r;  // whatever the last MAIL found
      if (r) {
        a.relay_db = *r;
        facts.relay_db = *r;
      } else {
        a.relay_db_failed = true;
      }
    }
    a.reply = check_sender(facts, q.mail, q.rules, dir);
    if (q.read_filter_rules) a.filter_rules = dir.filter_rules();
    return a;
  }
  if (q.kind == LookupRequest::Kind::kAtrn) {
    a.atrn_granted = dir.atrn_domains(facts.auth_user);
    return a;
  }
  a.reply = check_recipient(facts, q.rcpt, dir, q.relay_domains);
  if (!a.reply.is_error())  // per-domain limits (mailctl domain set)
    if (auto lim = check_domain_limits(facts, q.rcpt, q.earlier, q.declared_size, dir)) a.reply = *lim;
  return a;
}

LookupAnswer lookup_unavailable(const LookupRequest& q, const std::string& why) {
  static common::log::RateLimiter limit(std::chrono::seconds(10), 4);
  std::size_t dropped = 0;
  if (limit.allow("unavailable", &dropped))
    common::log::warn("accounts lookup not made: %s (%zu similar suppressed)", why.c_str(), dropped);
  LookupAnswer a;
  a.reply = make_reply(451, "4.3.0", "Temporary lookup failure, try again later");
  if (q.kind == LookupRequest::Kind::kAtrn)
    a.atrn_granted = common::Result<std::vector<std::string>>(common::Status::error(why));
  if (q.kind == LookupRequest::Kind::kMail) {
    a.relay_db_failed = q.ask_relay_db;
    if (q.read_filter_rules)
      a.filter_rules = common::Result<std::vector<common::accounts::FilterRule>>(common::Status::error(why));
  }
  return a;
}

}  // namespace smtpd
