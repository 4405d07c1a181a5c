// Session's side of the accounts lookups (lookups.hpp): MAIL and RCPT ask them of the
// backend, which answers at once (LMDB) or later from its database thread
// (lookup_done); then what the answer decides, as cmd_mail and cmd_rcpt did inline.
#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace log = common::log;

// MAIL and RCPT ask their lookups of the backend, which answers now (LMDB) or later,
// from its database thread (lookup_done): commands pipelined behind wait meanwhile.
void Session::ask(LookupRequest q) {
  q.facts = facts_;
  asked_ = std::move(q);
  if (auto a = backend_.lookup_now(*asked_)) return looked_up(std::move(*a));
  out_.lookup = *asked_;
  phase_ = Phase::kWaitLookup;
}

Output Session::lookup_done(LookupAnswer answer) {
  if (phase_ != Phase::kWaitLookup) return take();
  phase_ = Phase::kCommand;
  looked_up(std::move(answer));
  if (phase_ == Phase::kCommand) process();  // commands pipelined behind
  return take();
}

void Session::looked_up(LookupAnswer a) {
  LookupRequest q = std::move(*asked_);
  asked_.reset();
  if (q.kind == LookupRequest::Kind::kMail) return mail_looked_up(std::move(q.mail), std::move(a));
  if (q.kind == LookupRequest::Kind::kAtrn) return atrn_looked_up(std::move(q.atrn_domains), std::move(a));
  rcpt_looked_up(std::move(q.rcpt), std::move(a));
}

void Session::mail_looked_up(MailArgs mail, LookupAnswer a) {
  if (a.relay_db) facts_.relay_db = a.relay_db;  // a failure is asked again at the next MAIL
  facts_.relay_db_failed = a.relay_db_failed;
  const Reply& r = a.reply;
  if (r.is_error())
    log::info("reject: MAIL from %s%s: %d %s %s; from=<%s>%s%s", log::printable(facts_.helo, 64).c_str(),
              client_.literal.c_str(), r.code, r.status.c_str(), r.text.c_str(),
              log::printable(mail.envelope_sender()).c_str(),
              facts_.auth_user.empty() ? "" : " user=", log::printable(facts_.auth_user, 64).c_str());
  if (r.is_error()) return send(r);
  if (connect_refusal_) return send(*connect_refusal_);  // the filters refused the client
  if (auto refused = mail_rules(mail, a.filter_rules)) return send(*refused);
  if (checks_apply()) return begin_mail_check(std::move(mail), r);
  mail_passed(std::move(mail), r, {});
}

void Session::rcpt_looked_up(common::mail::Address a, LookupAnswer answer) {
  if (!tx_) return;  // cannot happen: nothing ends the transaction while the lookup runs
  Reply r = std::move(answer.reply);
  if (!r.is_error())  // SRS addresses carry bounces only
    if (auto srs = check_srs_return(facts_, a, tx_->mail.sender)) r = *srs;
  if (!r.is_error())  // sender rules limited to a recipient domain
    if (auto ruled = rcpt_rules(a)) r = *ruled;
  if (r.is_error()) {
    log::info("reject: RCPT from %s%s: %d %s %s; from=<%s> to=<%s>", log::printable(facts_.helo, 64).c_str(),
              client_.literal.c_str(), r.code, r.status.c_str(), r.text.c_str(),
              log::printable(tx_->mail.envelope_sender()).c_str(), log::printable(a.str()).c_str());
  } else if (cfg_.milters) {
    milter_ok_ = r;
    std::string addr = a.str();
    pending_rcpt_ = std::move(a);
    pending_rcpt_dsn_ = std::move(asked_dsn_);
    return milter_request(MilterRequest::Stage::kRcpt, {"<" + addr + ">"}, {{"{rcpt_addr}", addr}});
  } else {
    tx_->rcpts.push_back(std::move(a));
    tx_->dsn.push_back(std::move(asked_dsn_));
  }
  send(r);
}

}  // namespace smtpd
