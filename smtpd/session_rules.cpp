// Session's side of the administrator's filtering rules (mailctl rule; the matcher is
// common/checks/rules.hpp): read from the accounts database at each MAIL, so that a
// change needs no restart; a blocked client network refused at MAIL with 554 5.7.1, a
// blocked sender with 550 5.7.1 (at RCPT when the rule is limited to a recipient
// domain); rules that cannot be read defer every recipient. Only for mail from
// strangers on port 25: not relay_networks, not logged in.
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/idna.hpp"
#include "common/mail/mime_scan.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace log = common::log;

bool Session::rules_apply() const {
  return cfg_.port == Port::kMx && !client_.relay_network && facts_.auth_user.empty();
}

void Session::log_rule(const std::string& queue_id, std::string_view sender, const char* rule,
                       const std::string& extra) {
  log::info("%s: rule: client=%s sender=<%s> rule=%s%s", queue_id.empty() ? "NOQUEUE" : queue_id.c_str(),
            client_.literal.c_str(), log::printable(sender).c_str(), rule, extra.c_str());
}

std::optional<Reply> Session::mail_rules(
    const MailArgs& mail,
    const std::optional<common::Result<std::vector<common::accounts::FilterRule>>>& read) {
  rules_.reset();
  rules_unreadable_ = false;
  if (!rules_apply() || !read) return std::nullopt;
  const auto& list = *read;
  if (!list) {
    // Every recipient then gets 451 4.3.0 (rcpt_rules), as for a recipient lookup that
    // fails: the client tries again later, nothing passes unfiltered.
    log::error("NOQUEUE: rule: cannot read the filtering rules: %s", list.message().c_str());
    rules_unreadable_ = true;
    return std::nullopt;
  }
  if (list->empty()) return std::nullopt;
  rules_ = common::checks::RuleSet::build(*list);
  if (rules_->skipped > 0) log::warn("%zu filtering rule(s) not understood, ignored", rules_->skipped);
  std::string sender = mail.envelope_sender();
  if (common::checks::client_blocked(*rules_, client_.ip)) {
    log_rule("", sender, "client-block", "");
    return make_reply(554, "5.7.1",
                      "Client host " + client_.literal + " rejected: blocked by a client network rule");
  }
  auto v = common::checks::sender_verdict(*rules_, sender, std::nullopt);
  if (v.rejected) {
    log_rule("", sender, "sender-block", "");
    return make_reply(550, "5.7.1", "Sender address rejected: blocked by a sender rule");
  }
  if (v.allowed) log_rule("", sender, "sender-allow", "");
  return std::nullopt;
}

std::optional<Reply> Session::rcpt_rules(const common::mail::Address& rcpt) {
  if (rules_unreadable_)
    return make_reply(451, "4.3.0", "Error: cannot read the filtering rules, try again later");
  if (!rules_ || rules_->senders.empty() || !tx_) return std::nullopt;
  // The rules hold domains in A-labels (RFC 5890); an SMTPUTF8 recipient may not.
  auto ascii = common::mail::domain_to_ascii(rcpt.domain);
  std::string domain = common::mail::lower(ascii ? std::string_view(*ascii) : std::string_view(rcpt.domain));
  std::string sender = tx_->mail.envelope_sender();
  if (!common::checks::sender_verdict(*rules_, sender, domain).rejected) return std::nullopt;
  log_rule("", sender, "sender-block", " rcpt=<" + log::printable(rcpt.str()) + ">");
  return make_reply(550, "5.7.1", "Sender address rejected for this recipient: blocked by a sender rule");
}

bool Session::content_rules_apply() const {
  return rules_ && (!rules_->words.empty() || rules_->attachment_max != 0);
}

void Session::add_content_rules(common::ipc::Check& c) const {
  for (const auto& w : rules_->words) (w.junk ? c.junk_words : c.reject_words).push_back(w.phrase);
  c.attachment_max = rules_->attachment_max;
}

// The checks process's verdict on the content rules (common/mail/mime_scan.hpp).
std::optional<Reply> Session::content_reply(const common::ipc::CheckDone& v) {
  if (!content_rules_apply() || v.content == 0) return std::nullopt;
  Transaction& t = *tx_;
  std::string sender = t.mail.envelope_sender();
  std::string where = " (" + log::printable(v.content_detail, 120) + ")";
  switch (static_cast<common::mail::ContentVerdict>(v.content)) {
    case common::mail::ContentVerdict::kRejectWord:
      log_rule(t.queue_id, sender, "word-reject", where);
      return make_reply(550, "5.7.1", "Message content rejected: it matches a word rule");
    case common::mail::ContentVerdict::kJunkWord:
      log_rule(t.queue_id, sender, "word-junk", where);
      t.writer->mark_junk();  // local delivers it into the Junk folder
      return std::nullopt;
    case common::mail::ContentVerdict::kAttachmentSize:
      log_rule(t.queue_id, sender, "attachment-size", where);
      // RFC 3463 3.4: 5.3.4, message too big for the system (a limit of this system).
      return make_reply(552, "5.3.4",
                        "Message refused: an attachment is larger than " +
                            std::to_string(rules_->attachment_max) + " bytes");
    case common::mail::ContentVerdict::kUnreadable:
      log_rule(t.queue_id, sender, "content-unreadable", where);
      return make_reply(554, "5.6.0", "Message refused: its MIME structure is too complex to check");
    default: break;
  }
  return std::nullopt;
}

}  // namespace smtpd
